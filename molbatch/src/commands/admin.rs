//! `molbatch admin`: tenants, API keys and the audit log (admin keys), and
//! `whoami` for any key. One function per group of subcommands; the server
//! checks the role, so a non-admin key gets its PERMISSION_DENIED as is.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use molbatch_client::{Client, RawClient};
use molbatch_proto::v1 as pb;

use crate::output::{print_json, timestamp_text, OutputFormat};

/// `molbatch admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the key in use: its id, tenant and role.
    Whoami,
    /// Tenants and their quotas.
    #[command(subcommand)]
    Tenants(TenantCommand),
    /// API keys.
    #[command(subcommand)]
    Keys(KeyCommand),
    /// The audit log of admin and destructive actions, newest first.
    Audit {
        /// Only events about this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Most events to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// `molbatch admin tenants ...`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// List tenants.
    List,
    /// Show one tenant with its quotas.
    Get {
        /// The tenant id.
        tenant: String,
    },
    /// Create a tenant.
    Create {
        /// The new tenant's id (lowercase letters, digits, dashes).
        tenant: String,
        /// A readable name.
        #[arg(long, default_value = "")]
        name: String,
        /// Quotas (0 or unset: the server's defaults).
        #[command(flatten)]
        quotas: QuotaArgs,
    },
    /// Change a tenant's name or quotas (only the quotas given change).
    Update {
        /// The tenant id.
        tenant: String,
        /// A new readable name.
        #[arg(long, default_value = "")]
        name: String,
        /// New quotas (0: back to the server's default).
        #[command(flatten)]
        quotas: QuotaArgs,
    },
}

/// Quota flags.
#[derive(Debug, Args)]
pub struct QuotaArgs {
    /// Most molecules in one job.
    #[arg(long)]
    max_molecules_per_job: Option<u64>,
    /// Most molecules over 24 hours.
    #[arg(long)]
    max_molecules_per_day: Option<u64>,
    /// Most unfinished jobs at once.
    #[arg(long)]
    max_concurrent_jobs: Option<u32>,
    /// Sustained requests per second.
    #[arg(long)]
    requests_per_second: Option<u32>,
    /// Requests in a burst.
    #[arg(long)]
    burst: Option<u32>,
}

impl QuotaArgs {
    fn any(&self) -> bool {
        self.max_molecules_per_job.is_some()
            || self.max_molecules_per_day.is_some()
            || self.max_concurrent_jobs.is_some()
            || self.requests_per_second.is_some()
            || self.burst.is_some()
    }

    /// `base` with the given flags applied.
    fn apply(&self, mut base: pb::Quotas) -> pb::Quotas {
        if let Some(v) = self.max_molecules_per_job {
            base.max_molecules_per_job = v;
        }
        if let Some(v) = self.max_molecules_per_day {
            base.max_molecules_per_day = v;
        }
        if let Some(v) = self.max_concurrent_jobs {
            base.max_concurrent_jobs = v;
        }
        if let Some(v) = self.requests_per_second {
            base.requests_per_second = v;
        }
        if let Some(v) = self.burst {
            base.burst = v;
        }
        base
    }
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Reads.
    Viewer,
    /// Reads, submits, cancels, exports.
    User,
    /// Everything, including keys.
    Admin,
}

impl From<RoleArg> for pb::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Viewer => pb::Role::Viewer,
            RoleArg::User => pb::Role::User,
            RoleArg::Admin => pb::Role::Admin,
        }
    }
}

/// `molbatch admin keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List a tenant's keys (never their secrets).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// Create a key; its secret is printed once.
    Create {
        /// The tenant it acts for.
        #[arg(long)]
        tenant: String,
        /// What it may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A note saying what it is for.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Revoke a key at once.
    Revoke {
        /// The key id (the part after `mbk_`, before the next `_`).
        key_id: String,
    },
}

fn role_text(role: i32) -> &'static str {
    match pb::Role::try_from(role) {
        Ok(pb::Role::Viewer) => "viewer",
        Ok(pb::Role::User) => "user",
        Ok(pb::Role::Admin) => "admin",
        Ok(pb::Role::Unspecified) | Err(_) => "?",
    }
}

fn tenant_text(t: &pb::Tenant) -> String {
    let q = t.quotas.unwrap_or_default();
    format!(
        "{:<20} {:<24} per job {:>11}  per day {:>12}  jobs {:>4}  rps {:>6}  burst {:>6}",
        t.tenant_id,
        t.display_name,
        q.max_molecules_per_job,
        q.max_molecules_per_day,
        q.max_concurrent_jobs,
        q.requests_per_second,
        q.burst
    )
}

fn key_text(k: &pb::ApiKey) -> String {
    let state = match &k.revoke_time {
        Some(t) => format!("revoked {}", timestamp_text(t)),
        None => "active".to_owned(),
    };
    let created = k
        .create_time
        .as_ref()
        .map(timestamp_text)
        .unwrap_or_default();
    format!(
        "{:<14} {:<16} {:<7} {:<22} {:<30} {}",
        k.key_id,
        k.tenant_id,
        role_text(k.role),
        created,
        state,
        k.name
    )
}

/// Runs one admin command.
pub async fn run(
    client: &mut Client,
    command: AdminCommand,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let json = output == OutputFormat::Json;
    let raw = client.raw();
    match command {
        AdminCommand::Whoami => whoami(raw, json).await?,
        AdminCommand::Tenants(command) => tenants(raw, command, json).await?,
        AdminCommand::Keys(command) => keys(raw, command, json).await?,
        AdminCommand::Audit { tenant, limit } => audit(raw, tenant, limit, json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `admin whoami`: the key in use.
async fn whoami(raw: &mut RawClient, json: bool) -> anyhow::Result<()> {
    let me = raw.who_am_i(pb::WhoAmIRequest {}).await?.into_inner();
    if json {
        return Ok(print_json("molbatch.v1.WhoAmIResponse", &me)?);
    }
    println!(
        "key {} of tenant {}, role {}",
        me.key_id,
        me.tenant_id,
        role_text(me.role)
    );
    Ok(())
}

/// `admin tenants ...`: the list, or one tenant after reading or writing it.
async fn tenants(raw: &mut RawClient, command: TenantCommand, json: bool) -> anyhow::Result<()> {
    let (verb, tenant) = match command {
        TenantCommand::List => return list_tenants(raw, json).await,
        TenantCommand::Get { tenant } => {
            let request = pb::GetTenantRequest { tenant_id: tenant };
            ("", raw.get_tenant(request).await?.into_inner())
        }
        TenantCommand::Create {
            tenant,
            name,
            quotas,
        } => {
            let request = pb::CreateTenantRequest {
                tenant_id: tenant,
                display_name: name,
                quotas: Some(quotas.apply(pb::Quotas::default())),
            };
            ("created ", raw.create_tenant(request).await?.into_inner())
        }
        TenantCommand::Update {
            tenant,
            name,
            quotas,
        } => ("updated ", update_tenant(raw, tenant, name, quotas).await?),
    };
    if json {
        return Ok(print_json("molbatch.v1.Tenant", &tenant)?);
    }
    println!("{verb}{}", tenant_text(&tenant));
    Ok(())
}

/// `admin tenants list`.
async fn list_tenants(raw: &mut RawClient, json: bool) -> anyhow::Result<()> {
    let all = raw
        .list_tenants(pb::ListTenantsRequest {})
        .await?
        .into_inner();
    if json {
        return Ok(print_json("molbatch.v1.ListTenantsResponse", &all)?);
    }
    all.tenants
        .iter()
        .for_each(|t| println!("{}", tenant_text(t)));
    Ok(())
}

/// `admin tenants update`: only the name and quotas given change.
async fn update_tenant(
    raw: &mut RawClient,
    tenant: String,
    name: String,
    quotas: QuotaArgs,
) -> anyhow::Result<pb::Tenant> {
    if name.is_empty() && !quotas.any() {
        bail!("nothing to change: give --name or a quota flag");
    }
    // Keep the stored quotas the flags do not mention.
    let quotas = if quotas.any() {
        let current = raw
            .get_tenant(pb::GetTenantRequest {
                tenant_id: tenant.clone(),
            })
            .await?
            .into_inner();
        Some(quotas.apply(current.quotas.unwrap_or_default()))
    } else {
        None
    };
    let request = pb::UpdateTenantRequest {
        tenant_id: tenant,
        display_name: name,
        quotas,
    };
    Ok(raw.update_tenant(request).await?.into_inner())
}

/// `admin keys ...`.
async fn keys(raw: &mut RawClient, command: KeyCommand, json: bool) -> anyhow::Result<()> {
    match command {
        KeyCommand::List { tenant } => {
            let keys = raw
                .list_api_keys(pb::ListApiKeysRequest { tenant_id: tenant })
                .await?
                .into_inner();
            if json {
                return Ok(print_json("molbatch.v1.ListApiKeysResponse", &keys)?);
            }
            keys.keys.iter().for_each(|k| println!("{}", key_text(k)));
        }
        KeyCommand::Create { tenant, role, name } => {
            let request = pb::CreateApiKeyRequest {
                tenant_id: tenant,
                role: pb::Role::from(role) as i32,
                name,
            };
            let key = raw.create_api_key(request).await?.into_inner();
            if json {
                return Ok(print_json("molbatch.v1.ApiKey", &key)?);
            }
            eprintln!(
                "created key {} ({} of tenant {}); this is the only time its secret is shown:",
                key.key_id,
                role_text(key.role),
                key.tenant_id
            );
            println!("{}", key.secret);
        }
        KeyCommand::Revoke { key_id } => {
            let key = raw
                .revoke_api_key(pb::RevokeApiKeyRequest { key_id })
                .await?
                .into_inner();
            if json {
                return Ok(print_json("molbatch.v1.ApiKey", &key)?);
            }
            println!("{}", key_text(&key));
        }
    }
    Ok(())
}

/// `admin audit`: events newest first, at most `limit`.
async fn audit(
    raw: &mut RawClient,
    tenant: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let request = pb::ListAuditEventsRequest {
        tenant_id: tenant.unwrap_or_default(),
        page_size: limit,
        page_token: String::new(),
    };
    let events = raw.list_audit_events(request).await?.into_inner();
    if json {
        return Ok(print_json("molbatch.v1.ListAuditEventsResponse", &events)?);
    }
    for e in &events.events {
        let at = e.time.as_ref().map(timestamp_text).unwrap_or_default();
        println!(
            "{at:<22} {:<16} {:<14} by {} ({}) on {} {}",
            e.tenant_id, e.action, e.actor_key_id, e.actor_tenant_id, e.tenant_id, e.target
        );
    }
    Ok(())
}
