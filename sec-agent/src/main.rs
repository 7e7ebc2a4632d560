fn main() -> std::process::ExitCode {
    sec_agent::cli::main()
}
