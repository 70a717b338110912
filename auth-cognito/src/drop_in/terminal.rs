//! [`TerminalPrompter`]: the drop-in's questions on a terminal.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use async_trait::async_trait;
use auth_core::Password;

use super::{PromptError, Prompter};

/// Asks on the terminal. With a terminal on standard input it uses `dialoguer` (arrow-key
/// menus, hidden password entry); otherwise (a pipe, a script, a test) it writes each
/// prompt to standard error and reads one line per answer from standard input, a number for
/// a choice, so the same program can be driven both ways. Messages go to standard error,
/// keeping standard output for the app's own results.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TerminalPrompter {
    interactive: bool,
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        Self::new()
    }
}

impl TerminalPrompter {
    /// A prompter that uses the terminal's features when standard input is a terminal.
    pub fn new() -> Self {
        Self { interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal() }
    }

    /// A prompter that always reads plain lines from standard input.
    pub fn line_based() -> Self {
        Self { interactive: false }
    }
}

/// Runs a blocking terminal interaction off the async runtime's worker threads.
async fn blocking<T, F>(f: F) -> Result<T, PromptError>
where
    F: FnOnce() -> Result<T, PromptError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|join| PromptError::Io(std::io::Error::other(join.to_string())))?
}

/// `dialoguer` reports Escape and a closed terminal as errors; the drop-in treats both as
/// the user giving up, other failures as the terminal failing.
fn from_dialoguer(error: dialoguer::Error) -> PromptError {
    let dialoguer::Error::IO(io) = error;
    match io.kind() {
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::UnexpectedEof => {
            PromptError::Cancelled
        }
        _ => PromptError::Io(io),
    }
}

/// One line from standard input, after writing `prompt` to standard error; end of input is
/// a cancellation.
fn read_line(prompt: &str) -> Result<String, PromptError> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "{prompt}: ")?;
    stderr.flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        return Err(PromptError::Cancelled);
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[async_trait]
impl Prompter for TerminalPrompter {
    async fn ask(&self, prompt: &str) -> Result<String, PromptError> {
        let prompt = prompt.to_owned();
        if self.interactive {
            blocking(move || {
                dialoguer::Input::<String>::new()
                    .with_prompt(prompt)
                    .allow_empty(true)
                    .interact_text()
                    .map_err(from_dialoguer)
            })
            .await
        } else {
            blocking(move || read_line(&prompt)).await
        }
    }

    async fn ask_secret(&self, prompt: &str) -> Result<Password, PromptError> {
        let prompt = prompt.to_owned();
        if self.interactive {
            blocking(move || {
                dialoguer::Password::new()
                    .with_prompt(prompt)
                    .allow_empty_password(true)
                    .interact()
                    .map(Password::from)
                    .map_err(from_dialoguer)
            })
            .await
        } else {
            blocking(move || read_line(&prompt).map(Password::from)).await
        }
    }

    async fn choose(&self, prompt: &str, options: &[String]) -> Result<usize, PromptError> {
        let (prompt, options) = (prompt.to_owned(), options.to_vec());
        if self.interactive {
            return blocking(move || {
                dialoguer::Select::new()
                    .with_prompt(prompt)
                    .items(&options)
                    .default(0)
                    .interact_opt()
                    .map_err(from_dialoguer)?
                    .ok_or(PromptError::Cancelled)
            })
            .await;
        }
        blocking(move || {
            let mut stderr = std::io::stderr().lock();
            writeln!(stderr, "{prompt}")?;
            for (n, option) in options.iter().enumerate() {
                writeln!(stderr, "  {}. {option}", n + 1)?;
            }
            drop(stderr);
            loop {
                let answer = read_line(&format!("Choose 1-{}", options.len()))?;
                match answer.trim().parse::<usize>() {
                    Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                    _ => writeln!(std::io::stderr(), "Type a number from 1 to {}.", options.len())?,
                }
            }
        })
        .await
    }

    async fn show(&self, message: &str) -> Result<(), PromptError> {
        let message = message.to_owned();
        blocking(move || {
            let mut stderr = std::io::stderr().lock();
            writeln!(stderr, "{message}")?;
            Ok(stderr.flush()?)
        })
        .await
    }
}
