//! The shapes the crate's builders and handles repeat: setters that store one value and hand
//! the builder back, and `Debug` impls that show a few chosen fields (the others hold
//! secrets, clients or callbacks, which must not reach a log).

/// Builder setters that store their argument, or a value made of it, in one field and hand
/// the builder back. Each setter is a line under its docs: `name(arg: Type) => field;` stores
/// the argument as it is, `name(arg: Type) => field = value;` stores `value`. An argument of
/// type `[impl Into<String>]` takes any list of strings (the setter is generic over it, as
/// `scopes<I, S>` is) and stands for it collected into a `Vec<String>`; `name(&mut self,
/// arg: Type)` declares the setter of a builder kept in a variable (`set_…`).
macro_rules! setters {
    () => {};
    (@value $arg:ident) => { $arg };
    (@value $arg:ident $value:expr) => { $value };
    (
        $(#[$attr:meta])*
        $name:ident($arg:ident: [impl Into<String>]) => $field:ident $(= $value:expr)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub fn $name<I, S>(mut self, $arg: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            let $arg: Vec<String> = $arg.into_iter().map(Into::into).collect();
            self.$field = $crate::builder::setters!(@value $arg $($value)?);
            self
        }
        $crate::builder::setters!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        $name:ident(&mut self, $arg:ident: $ty:ty) => $field:ident $(= $value:expr)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub fn $name(&mut self, $arg: $ty) -> &mut Self {
            self.$field = $crate::builder::setters!(@value $arg $($value)?);
            self
        }
        $crate::builder::setters!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        $name:ident($arg:ident: $ty:ty) => $field:ident $(= $value:expr)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.$field = $crate::builder::setters!(@value $arg $($value)?);
            self
        }
        $crate::builder::setters!($($rest)*);
    };
}
pub(crate) use setters;

/// A `Debug` impl that shows only the fields listed, each as `name: value`, where `value` is
/// an expression of `self` (named in the invocation, as a method's receiver is, so that the
/// expressions can use it); a trailing `..` prints the `..` of a struct whose other fields
/// are left out.
macro_rules! debug_fields {
    ($type:ident(&$self:ident) { $($field:ident: $value:expr),+ $(,)? }) => {
        impl std::fmt::Debug for $type {
            fn fmt(&$self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))$(.field(stringify!($field), &$value))+.finish()
            }
        }
    };
    ($type:ident(&$self:ident) { $($field:ident: $value:expr),+, .. }) => {
        impl std::fmt::Debug for $type {
            fn fmt(&$self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &$value))+
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use debug_fields;
