use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Exit quietly when the reader of our output goes away (`| head`), as Unix tools do.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = hoeveel_agent::cli::Cli::parse();
    match hoeveel_agent::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hoeveel-agent: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
