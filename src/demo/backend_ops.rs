//! The example backend's own operations the demo drives, as a hiring team's app would:
//! create the application, create the interview room (the backend dispatches the agent and
//! sends the candidate a password), exchange the password for a join token, read the stored
//! result. Plain GraphQL over HTTP.

use serde_json::{json, Value};

pub struct BackendApi {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl BackendApi {
    pub fn new(graphql_url: String, token: String) -> Result<BackendApi, String> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(BackendApi {
            http,
            url: graphql_url,
            token,
        })
    }

    async fn call(&self, query: &str, variables: Value) -> Result<Value, String> {
        let body = serde_json::to_vec(&json!({"query": query, "variables": variables}))
            .map_err(|e| e.to_string())?;
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("backend: {e}"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("backend: {e}"))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("backend: HTTP {status}, not JSON: {e}"))?;
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            if !errors.is_empty() {
                let msgs: Vec<&str> = errors
                    .iter()
                    .filter_map(|e| e.get("message").and_then(Value::as_str))
                    .collect();
                return Err(format!("backend: {}", msgs.join("; ")));
            }
        }
        v.get("data")
            .cloned()
            .ok_or_else(|| format!("backend: HTTP {status} without data"))
    }

    pub async fn create_application(&self, input: Value) -> Result<String, String> {
        let d = self
            .call(
                "mutation($input: CreateApplicationInput!) { createApplication(input: $input) { id } }",
                json!({"input": input}),
            )
            .await?;
        d["createApplication"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "backend: createApplication returned no id".to_string())
    }

    /// Returns the room name.
    pub async fn create_interview_room(&self, application_id: &str) -> Result<String, String> {
        let d = self
            .call(
                "mutation($id: ID!) { createInterviewRoom(applicationId: $id) { roomName expiresAt } }",
                json!({"id": application_id}),
            )
            .await?;
        d["createInterviewRoom"]["roomName"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "backend: createInterviewRoom returned no room".to_string())
    }

    /// (url, token) for the candidate.
    pub async fn room_token(
        &self,
        application_id: &str,
        password: &str,
    ) -> Result<(String, String), String> {
        let d = self
            .call(
                "mutation($id: ID!, $pw: String!) { getRoomToken(applicationId: $id, password: $pw) { roomName token url } }",
                json!({"id": application_id, "pw": password}),
            )
            .await?;
        let t = &d["getRoomToken"];
        match (t["url"].as_str(), t["token"].as_str()) {
            (Some(u), Some(k)) => Ok((u.to_string(), k.to_string())),
            _ => Err("backend: getRoomToken returned no token".into()),
        }
    }

    /// The stored results of an application: (partial, result JSON).
    pub async fn results(&self, application_id: &str) -> Result<Vec<(bool, Value)>, String> {
        let d = self
            .call(
                "query($id: ID!) { interviewResults(applicationId: $id) { partial resultJson } }",
                json!({"id": application_id}),
            )
            .await?;
        let rows = d["interviewResults"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(rows
            .iter()
            .map(|r| {
                let json = r["resultJson"]
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(Value::Null);
                (r["partial"].as_bool().unwrap_or(false), json)
            })
            .collect())
    }
}
