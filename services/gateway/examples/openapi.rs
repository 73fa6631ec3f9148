//! Prints the gateway's OpenAPI document exactly as it serves it at
//! `/openapi.json`. The web app's typed client is generated from a copy:
//!
//! ```sh
//! cargo run -q -p molbatch-gateway --example openapi > web/openapi.json
//! (cd web && npm run gen:api)
//! ```

fn main() -> anyhow::Result<()> {
    let document = molbatch_gateway::rest::openapi_document(molbatch_gateway::PUBLIC_SERVICE)?;
    println!("{document}");
    Ok(())
}
