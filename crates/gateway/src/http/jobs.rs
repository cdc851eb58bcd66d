//! `POST /api/v1/jobs` and `GET /api/v1/jobs/{id}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::extract::{header_value, json_body, require, Auth};
use crate::apierror::ApiError;
use crate::config::Permission;
use crate::error::GatewayError;
use crate::request::SubmitBody;
use crate::service::Gateway;
use crate::store::{jobs, scheduling};
use crate::view;

pub(super) async fn submit(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require(&caller, Permission::JobsWrite)?;
    let body: SubmitBody = json_body(body, false)?;
    let key = header_value(&headers, "idempotency-key")
        .or_else(|| header_value(&headers, "x-idempotency-key"));
    let outcome = gw.submit(&caller, body, key).await?;
    let mut response = (outcome.status, Json(outcome.body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&outcome.trace_id) {
        response.headers_mut().insert("x-trace-id", v);
    }
    Ok(response)
}

pub(super) async fn get_job(
    State(gw): State<Gateway>,
    Auth(caller): Auth,
    Path(job_id): Path<String>,
) -> Result<Response, ApiError> {
    require(&caller, Permission::JobsRead)?;
    let (job, sched) = gw
        .store()
        .run(move |c| {
            let job = jobs::get(&c.db, &job_id)?;
            let sched = scheduling::get(&c.db, &job_id)?;
            Ok::<_, GatewayError>(job.map(|j| (j, sched)))
        })
        .await?
        .filter(|(j, _)| j.tenant == caller.tenant)
        .ok_or_else(|| ApiError::legacy(StatusCode::NOT_FOUND, "job not found"))?;
    Ok(Json(view::job_view(
        &job,
        sched.as_ref(),
        gw.max_scheduling_attempts(),
    ))
    .into_response())
}
