//! `login`, `logout` and `profiles`: saved profiles and their secrets. Secrets are read from
//! standard input or a no-echo prompt, never from arguments (they would show in `ps` and
//! shell history), and go to the OS keychain only; `profiles.json` holds no secret.

use std::io::Read;

use anyhow::{anyhow, Context};
use clap::{ArgGroup, Args};
use countersign_client::session::{sign_in_with_api_key, sign_in_with_password, sign_out};
use countersign_client::{AuthMethod, HttpConfig, KeyringStore, Profile, ProfileStore, Secret};
use countersign_ledger::NewEntry;
use serde_json::json;

use super::context::{self, Settings};
use super::output::sanitize_for_terminal;
use super::{CliError, Output};

/// The profile name when `login` gets no `--profile`.
const DEFAULT_NAME: &str = "default";

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("method").required(true).args(["api_key_stdin", "username"])))]
pub struct LoginArgs {
    /// The gateway's base URL (https, or plain http to loopback only).
    #[arg(long, value_name = "URL")]
    gateway: String,
    #[arg(long, value_name = "TENANT")]
    tenant: String,
    /// Read the API key from standard input.
    #[arg(long)]
    api_key_stdin: bool,
    /// Sign in with a password instead; it is prompted for without echo.
    #[arg(long, value_name = "USER")]
    username: Option<String>,
    /// Read the password from standard input instead of prompting.
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// Make this the profile used when --profile is absent.
    #[arg(long)]
    default: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also remove the profile from profiles.json (its ledger is kept as evidence).
    #[arg(long)]
    forget: bool,
}

pub async fn login(out: &Output, flag: Option<&str>, args: LoginArgs) -> Result<(), CliError> {
    let name = flag.unwrap_or(DEFAULT_NAME);
    context::validate_profile_name(name)?;
    let data = context::data_dir()?;
    let auth = match &args.username {
        Some(username) => AuthMethod::Password {
            username: username.clone(),
        },
        None => AuthMethod::ApiKey,
    };
    let profile = Profile {
        name: name.to_owned(),
        gateway_url: args.gateway.trim().to_owned(),
        tenant: args.tenant.clone(),
        auth,
    };
    profile.validate()?;
    let config = HttpConfig::default();
    let session = match &profile.auth {
        AuthMethod::ApiKey => {
            let key = read_secret_from_stdin("API key")?;
            sign_in_with_api_key(&profile, &key, &KeyringStore, &config)
                .await?
                .1
        }
        AuthMethod::Password { username } => {
            let password = if args.password_stdin {
                read_secret_from_stdin("password")?
            } else {
                prompt_password(username)?
            };
            Some(
                sign_in_with_password(&profile, &password, &KeyringStore, &config)
                    .await?
                    .1,
            )
        }
    };
    let store = ProfileStore::new(&data);
    store.save(&profile)?;
    if args.default {
        Settings::remember_default(&data, &profile.name)?;
    }
    let principal = session
        .as_ref()
        .map(|s| s.principal.clone())
        .unwrap_or_default();
    context::open_ledger(&data, &profile.name)?
        .append(NewEntry::login(&profile.gateway_url, &principal))?;
    if out.is_json() {
        out.json(&json!({ "profile": profile, "session": session }));
    } else {
        let who = if principal.is_empty() {
            String::new()
        } else {
            format!(" as {}", sanitize_for_terminal(&principal))
        };
        out.line(&format!(
            "signed in to {}{who} (profile {})",
            sanitize_for_terminal(&profile.gateway_url),
            profile.name
        ));
    }
    Ok(())
}

/// The whole of standard input, without the trailing newline a pipe or `echo` adds.
fn read_secret_from_stdin(what: &str) -> Result<Secret, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading standard input")
        .map_err(CliError::invalid_input)?;
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.trim().is_empty() {
        return Err(CliError::invalid_input(anyhow!(
            "no {what} on standard input"
        )));
    }
    Ok(Secret::new(secret))
}

fn prompt_password(username: &str) -> Result<Secret, CliError> {
    let prompt = format!("Password for {}: ", sanitize_for_terminal(username));
    let password = rpassword::prompt_password(prompt)
        .context("reading the password from the terminal (or use --password-stdin)")
        .map_err(CliError::invalid_input)?;
    if password.is_empty() {
        return Err(CliError::invalid_input(anyhow!("empty password")));
    }
    Ok(Secret::new(password))
}

pub fn logout(out: &Output, flag: Option<&str>, args: &LogoutArgs) -> Result<(), CliError> {
    let data = context::data_dir()?;
    let profile = context::saved_profile(&data, flag)?;
    sign_out(&profile, &KeyringStore)?;
    let principal = match &profile.auth {
        AuthMethod::Password { username } => username.as_str(),
        AuthMethod::ApiKey => "",
    };
    context::open_ledger(&data, &profile.name)?
        .append(NewEntry::logout(&profile.gateway_url, principal))?;
    if args.forget {
        ProfileStore::new(&data).remove(&profile.name)?;
        let mut settings = Settings::load(&data)?;
        if settings.default_profile.as_deref() == Some(profile.name.as_str()) {
            settings.default_profile = None;
            settings.save(&data)?;
        }
    }
    if out.is_json() {
        out.json(&json!({ "profile": profile.name, "signed_out": true, "forgotten": args.forget }));
    } else {
        out.line(&format!("signed out of profile {}", profile.name));
    }
    Ok(())
}

pub fn profiles(out: &Output) -> Result<(), CliError> {
    let data = context::data_dir()?;
    let profiles = ProfileStore::new(&data).list()?;
    let default = Settings::load(&data)?.default_profile;
    if out.is_json() {
        out.json(&json!({ "profiles": profiles, "default": default }));
        return Ok(());
    }
    if profiles.is_empty() {
        out.note("no saved profiles; run `countersign-cli login`");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            let marker = if default.as_deref() == Some(p.name.as_str()) || profiles.len() == 1 {
                "*"
            } else {
                ""
            };
            let auth = match &p.auth {
                AuthMethod::ApiKey => "api key".to_owned(),
                AuthMethod::Password { username } => format!("password ({username})"),
            };
            vec![
                format!("{marker}{}", p.name),
                p.gateway_url.clone(),
                p.tenant.clone(),
                auth,
            ]
        })
        .collect();
    out.line(&super::output::table(
        &["PROFILE", "GATEWAY", "TENANT", "AUTH"],
        &rows,
    ));
    Ok(())
}
