//! What the command-line examples share (a module, not an example: Cargo builds only the
//! files directly in `examples/` as examples).

/// The app client an example talks to: `--endpoint URL --user-pool-id ID --client-id ID`.
#[derive(clap::Args)]
pub(crate) struct AppClient {
    /// Where the user pool answers: its domain for the OAuth examples, its service endpoint
    /// for the others, or a local Cognito (e.g. the mock) for either.
    #[arg(long)]
    pub(crate) endpoint: String,
    /// The user pool id, `<region>_<id>`.
    #[arg(long)]
    pub(crate) user_pool_id: String,
    /// The app client id.
    #[arg(long)]
    pub(crate) client_id: String,
}
