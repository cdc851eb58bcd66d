//! The governance endpoints of the reference gateway (`/api/v1/policy/drafts…`), typed with the
//! shared wire model. A gateway without them (Cordum itself) answers a bare 404, reported as
//! [`ClientError::NotOffered`]; a draft it does not know is [`ClientError::NotFound`].

use countersign_core::governance::{
    code, DraftImpact, DraftSnapshot, DraftStatus, PolicyDiff, PolicyDraft,
};
use countersign_core::outcome::DecisionAction;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::body::{error_message, DOCUMENT_BODY_BYTES, SMALL_BODY_BYTES};
use crate::error::{ClientError, Result};
use crate::http::{path_segment, GatewayClient, RawAnswer};

const DRAFTS: &str = "api/v1/policy/drafts";
/// What a reviewer calls this feature in errors.
const FEATURE: &str = "governance approvals (policy drafts)";

/// Which drafts to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DraftFilter {
    #[default]
    Open,
    Status(DraftStatus),
    All,
}

impl DraftFilter {
    fn as_query(self) -> &'static str {
        match self {
            Self::Open | Self::Status(DraftStatus::Open) => "open",
            Self::Status(DraftStatus::Approved) => "approved",
            Self::Status(DraftStatus::Rejected) => "rejected",
            Self::All => "all",
        }
    }
}

impl GatewayClient {
    /// `GET /api/v1/policy/drafts?status=…`, newest first.
    pub async fn policy_drafts(&self, filter: DraftFilter) -> Result<Vec<PolicyDraft>> {
        let builder = self.get_with_query(DRAFTS, &[("status", filter.as_query().to_owned())])?;
        let body: Value = self
            .governance_document(builder, DOCUMENT_BODY_BYTES)
            .await?;
        match body.get("items") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| parse(item.clone(), "a listed draft"))
                .collect(),
            _ => Err(ClientError::GatewayProtocol(
                "the draft list has no `items` array".into(),
            )),
        }
    }

    /// `GET /api/v1/policy/drafts/{id}`: the draft, its active snapshot with YAML, all snapshots.
    pub async fn policy_draft(&self, draft_id: &str) -> Result<PolicyDraft> {
        let path = draft_path(draft_id, "")?;
        let body = self
            .governance_document(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        let draft: PolicyDraft = parse(body, "the draft")?;
        if draft.draft_id != draft_id {
            return Err(ClientError::GatewayProtocol(format!(
                "asked for draft {draft_id:?}, the gateway answered with {:?}",
                draft.draft_id
            )));
        }
        Ok(draft)
    }

    /// `GET /api/v1/policy/drafts/{id}/snapshots/{snapshot_id}`, with its YAML.
    pub async fn draft_snapshot(&self, draft_id: &str, snapshot_id: &str) -> Result<DraftSnapshot> {
        let path = draft_path(
            draft_id,
            &format!("/snapshots/{}", path_segment(snapshot_id)?),
        )?;
        let body = self
            .governance_document(self.request(Method::GET, &path)?, DOCUMENT_BODY_BYTES)
            .await?;
        parse(body, "the draft snapshot")
    }

    /// `GET …/diff`: the snapshot (the active one when `None`) against the current policy.
    pub async fn draft_diff(
        &self,
        draft_id: &str,
        snapshot_id: Option<&str>,
    ) -> Result<PolicyDiff> {
        let body = self.draft_view(draft_id, "/diff", snapshot_id).await?;
        parse(body, "the draft diff")
    }

    /// `GET …/impact`: what approving the snapshot would do to the pending approvals.
    pub async fn draft_impact(
        &self,
        draft_id: &str,
        snapshot_id: Option<&str>,
    ) -> Result<DraftImpact> {
        let body = self.draft_view(draft_id, "/impact", snapshot_id).await?;
        parse(body, "the draft impact")
    }

    /// `POST /api/v1/policy/drafts` (admin): proposes a policy change.
    pub async fn propose_draft(&self, title: &str, yaml: &str) -> Result<PolicyDraft> {
        let builder = self
            .request(Method::POST, DRAFTS)?
            .json(&json!({ "title": title, "yaml": yaml }));
        parse(
            self.governance_document(builder, DOCUMENT_BODY_BYTES)
                .await?,
            "the proposed draft",
        )
    }

    /// `PUT /api/v1/policy/drafts/{id}` (admin): a new snapshot of the draft.
    pub async fn update_draft(&self, draft_id: &str, yaml: &str) -> Result<PolicyDraft> {
        let builder = self
            .request(Method::PUT, &draft_path(draft_id, "")?)?
            .json(&json!({ "yaml": yaml }));
        parse(
            self.governance_document(builder, DOCUMENT_BODY_BYTES)
                .await?,
            "the updated draft",
        )
    }

    /// Posts a governance approve or reject and returns the answer unclassified.
    pub(crate) async fn post_governance_decision(
        &self,
        draft_id: &str,
        action: DecisionAction,
        body: &Value,
    ) -> Result<RawAnswer> {
        let path = draft_path(draft_id, &format!("/{}", action.as_str()))?;
        self.send_raw(
            self.request(Method::POST, &path)?.json(body),
            SMALL_BODY_BYTES,
        )
        .await
    }

    async fn draft_view(
        &self,
        draft_id: &str,
        view: &str,
        snapshot_id: Option<&str>,
    ) -> Result<Value> {
        let query: Vec<(&str, String)> = snapshot_id
            .map(|s| ("snapshot_id", s.to_owned()))
            .into_iter()
            .collect();
        let builder = self.get_with_query(&draft_path(draft_id, view)?, &query)?;
        self.governance_document(builder, DOCUMENT_BODY_BYTES).await
    }

    async fn governance_document(
        &self,
        builder: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Value> {
        let answer = self.send_raw(builder, limit).await?;
        if !(200..300).contains(&answer.status) {
            return Err(self.governance_error(&answer));
        }
        serde_json::from_str(&answer.body).map_err(|e| {
            ClientError::GatewayProtocol(format!("governance answer is not JSON: {e}"))
        })
    }

    /// A governance refusal keeps its code; a bare 404 means the gateway has no drafts at all.
    fn governance_error(&self, answer: &RawAnswer) -> ClientError {
        let gateway_code = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
        match (answer.status, gateway_code.as_deref()) {
            (404, Some(code::DRAFT_NOT_FOUND)) => {
                ClientError::NotFound(error_message(&answer.body))
            }
            (404 | 405 | 501, _) => ClientError::NotOffered(FEATURE.into()),
            (_, Some(gateway_code)) if !gateway_code.is_empty() && answer.status < 500 => {
                ClientError::GovernanceRefused {
                    code: gateway_code.to_owned(),
                    message: error_message(&answer.body),
                }
            }
            _ => self.error_for(answer),
        }
    }
}

fn draft_path(draft_id: &str, tail: &str) -> Result<String> {
    Ok(format!("{DRAFTS}/{}{tail}", path_segment(draft_id)?))
}

fn parse<T: DeserializeOwned>(value: Value, what: &str) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|e| ClientError::GatewayProtocol(format!("{what} does not parse: {e}")))
}
