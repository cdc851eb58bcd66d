//! The demo's job mix: what simulated agents submit, chosen so that every part of a reviewer's
//! card (requester, workflow and step, rule and reason, risk tags, constraints, payload,
//! deadline) and every policy outcome shows up within a minute.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::RngExt;
use serde_json::{json, Value};

use crate::request::SubmitBody;

const VENDORS: &[&str] = &[
    "Acme Supplies",
    "Globex",
    "Initech",
    "Umbrella Logistics",
    "Stark Industries",
];
const RESOURCES: &[&str] = &[
    "db-orders-replica-3",
    "bucket/invoices-2024",
    "vm-batch-17",
    "queue/legacy-events",
];
const CUSTOMERS: &[&str] = &["ACME Corp", "Wayne Enterprises", "Tyrell", "Cyberdyne"];
const SERVICES: &[&str] = &["checkout-api", "search-indexer", "billing-worker"];

/// How long a workflow approval may wait before it expires (seed 002's incident walkthrough).
const INCIDENT_DEADLINE_MS: i64 = 5 * 60 * 1000;

fn pick<'a>(rng: &mut StdRng, from: &'a [&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// What one simulated agent asks for.
struct Job {
    topic: &'static str,
    prompt: String,
    labels: Vec<(&'static str, String)>,
    context: Value,
    principal: &'static str,
    risk_tags: &'static [&'static str],
    deadline_ms: i64,
}

/// The next submission; `now_us` only seeds the run ids, so a seeded generator and a fixed
/// clock give the same sequence.
pub(super) fn next_job(rng: &mut StdRng, now_us: i64) -> SubmitBody {
    let roll = rng.random_range(0..100u32);
    let job = if roll < 25 {
        payment(rng)
    } else if roll < 40 {
        incident_remediation(rng, now_us)
    } else if roll < 55 {
        resource_delete(rng)
    } else if roll < 70 {
        customer_notice(rng)
    } else if roll < 80 {
        Job {
            topic: "knowledge.read",
            prompt: "Summarize the runbook".into(),
            labels: vec![],
            context: Value::Null,
            principal: "agent-support",
            risk_tags: &[],
            deadline_ms: 0,
        }
    } else if roll < 90 {
        Job {
            topic: "infra.security_group.update",
            prompt: "Open port 443 to the world".into(),
            labels: vec![("env", "production".into()), ("cidr", "0.0.0.0/0".into())],
            context: Value::Null,
            principal: "agent-infra",
            risk_tags: &["prod", "network"],
            deadline_ms: 0,
        }
    } else {
        Job {
            topic: "infra.cluster.recreate",
            prompt: "Recreate all worker nodes".into(),
            labels: vec![("env", "production".into())],
            context: Value::Null,
            principal: "agent-infra",
            risk_tags: &["prod", "write"],
            deadline_ms: 0,
        }
    };
    SubmitBody {
        prompt: job.prompt,
        topic: Some(job.topic.into()),
        principal_id: job.principal.into(),
        actor_type: "service".into(),
        risk_tags: job.risk_tags.iter().map(|t| (*t).to_owned()).collect(),
        labels: job
            .labels
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect::<BTreeMap<_, _>>(),
        context: (!job.context.is_null()).then_some(job.context),
        deadline_ms: job.deadline_ms,
        ..SubmitBody::default()
    }
}

fn payment(rng: &mut StdRng) -> Job {
    let vendor = pick(rng, VENDORS);
    let amount = f64::from(rng.random_range(120..48_000u32));
    Job {
        topic: "finance.payment.execute",
        prompt: format!("Pay invoice from {vendor}"),
        labels: vec![("env", "production".into())],
        context: json!({
            "vendor": vendor,
            "amount": amount,
            "currency": "EUR",
            "invoice": format!("INV-{}", rng.random_range(1000..9999u32)),
            "justification": "Invoice matched to purchase order",
        }),
        principal: "agent-billing",
        risk_tags: &["finance", "write"],
        deadline_ms: 0,
    }
}

/// Seed 002's walkthrough: the incident-triage workflow proposes a production fix and waits
/// at its `remediate` step.
fn incident_remediation(rng: &mut StdRng, now_us: i64) -> Job {
    let service = pick(rng, SERVICES);
    let run = format!(
        "run_{:04x}",
        (now_us / 1000 + i64::from(rng.random_range(0..65_535u32))) & 0xffff
    );
    Job {
        topic: "incident.remediate",
        prompt: format!("Roll back the last deploy of {service} to stop the error spike"),
        labels: vec![
            ("env", "production".into()),
            ("workflow_id", "incident-triage".into()),
            ("run_id", run),
            ("step_id", "remediate".into()),
            ("rollback_hint", "Redeploy the previous release tag".into()),
        ],
        context: json!({
            "title": format!("Roll back {service}"),
            "why": "Error rate above 5% for 10 minutes after the last deploy",
            "service": service,
            "change": { "kind": "rollback", "lines_changed": rng.random_range(3..400u32) },
            "blast_radius": { "systems": [service], "namespaces": ["prod"] },
        }),
        principal: "workflow.incident-triage",
        risk_tags: &["prod", "write"],
        deadline_ms: INCIDENT_DEADLINE_MS,
    }
}

fn resource_delete(rng: &mut StdRng) -> Job {
    let resource = pick(rng, RESOURCES);
    Job {
        topic: "infra.resource.delete",
        prompt: format!("Delete unused resource {resource}"),
        labels: vec![
            ("env", "production".into()),
            ("resource", resource.into()),
            ("rollback_hint", "Restore from the nightly snapshot".into()),
        ],
        context: json!({ "title": format!("Delete {resource}"), "why": "Idle for 30 days" }),
        principal: "agent-infra",
        risk_tags: &["prod", "delete"],
        deadline_ms: 0,
    }
}

fn customer_notice(rng: &mut StdRng) -> Job {
    let customer = pick(rng, CUSTOMERS);
    Job {
        topic: "customer.notify",
        prompt: format!("Email {customer} about the delayed shipment"),
        labels: vec![("channel", "external".into())],
        context: json!({
            "subject": format!("Shipment delay notice to {customer}"),
            "body": "Your order ships two days later than planned. We apologise.",
        }),
        principal: "agent-support",
        risk_tags: &["network"],
        deadline_ms: 0,
    }
}
