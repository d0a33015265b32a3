//! `local-pool`: a Cognito-compatible user pool on your machine.

use std::process::ExitCode;

const HELP: &str = "\
local-pool: a Cognito-compatible user pool on your machine

Usage:
  local-pool serve [--port N] [--host ADDR] [--data-dir DIR] [--config FILE]

  --port N         port to listen on (default 9229; 0 picks a free one)
  --host ADDR      address to bind (default 127.0.0.1)
  --data-dir DIR   keep pools, users and revocations across restarts
  --config FILE    create the pools, clients and users a JSON file lists
                   (also per pool: first_auth_factors for USER_AUTH and
                   custom_auth hooks, e.g. {\"kind\": \"fixed_answer\", \"answer\": \"42\"};
                   see docs/local-pool.md)

The first line on stdout is `local-pool listening on http://HOST:PORT`.
Point any Cognito client at that URL (Amplify `userPoolEndpoint`, boto3
`endpoint_url`, AWS CLI `--endpoint-url`); management calls accept any
credentials. Messages with codes are logged and served at
GET /_local-pool/outbox?pool=POOL_ID&user=USERNAME.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("local-pool: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    };
    match command.as_str() {
        "serve" => serve(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}\n\n{HELP}")),
    }
}

fn serve(args: &[String]) -> Result<ExitCode, String> {
    let mut options = local_pool::Options { port: 9229, ..Default::default() };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse().map_err(|_| "--port must be a number".to_owned())?,
            "--host" => options.host = Some(value()?.parse().map_err(|_| "--host must be an IP address".to_owned())?),
            "--data-dir" => options.data_dir = Some(value()?.into()),
            "--config" => options.config = Some(value()?.into()),
            other => return Err(format!("unknown option {other:?}\n\n{HELP}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let pool = local_pool::LocalPool::start_with(options).await.map_err(|e| e.to_string())?;
        println!("local-pool listening on {}", pool.endpoint());
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("local-pool: stopping");
        pool.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}
