//! `yun`: the one binary of Yun.

fn main() -> std::process::ExitCode {
    yun_cli::main()
}
