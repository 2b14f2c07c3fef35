//! The admin token and the documented example config.

use super::*;

const TOKEN: &str = "s3cr3t-admin-token-0123456789";

#[tokio::test]
async fn the_admin_listener_wants_the_token_by_header_or_cookie() {
    let gw = gateway_with("", 8);
    let admin = admin_router_protected(gw.store.clone(), Some(TOKEN));
    let call = |path: &str, header: Option<(header::HeaderName, String)>| {
        let mut builder = Request::get(path);
        if let Some((name, value)) = header {
            builder = builder.header(name, value);
        }
        builder.body(Body::empty()).expect("request")
    };
    assert_eq!(
        send(&admin, call("/api/traces", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&admin, call("/", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let wrong = Some((
        header::AUTHORIZATION,
        "Bearer s3cr3t-admin-token-0123456788".to_string(),
    ));
    assert_eq!(
        send(&admin, call("/api/traces", wrong)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let right = Some((header::AUTHORIZATION, format!("Bearer {TOKEN}")));
    assert_eq!(
        send(&admin, call("/api/traces", right)).await.0,
        StatusCode::OK
    );
    assert_eq!(send(&admin, call("/healthz", None)).await.0, StatusCode::OK);

    // The viewer link: ?token= sets the cookie and sends the browser back to /.
    let (status, _, headers) = send(&admin, call(&format!("/?token={TOKEN}"), None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/")
    );
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("pair").to_string();
    let with_cookie = Some((header::COOKIE, format!("theme=dark; {pair}")));
    assert_eq!(
        send(&admin, call("/api/page_views", with_cookie.clone()))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(send(&admin, call("/", with_cookie)).await.0, StatusCode::OK);
    assert_eq!(
        send(&admin, call("/?token=nope", None)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn a_public_admin_listener_needs_a_token() {
    let public = "[server]\nadmin_listen = \"0.0.0.0:4319\"\n";
    let err =
        Config::from_toml(&format!("{public}{APP}"), Overrides::default()).expect_err("no token");
    assert!(err.to_string().contains("admin_token"), "{err}");
    let with_token =
        format!("[server]\nadmin_listen = \"0.0.0.0:4319\"\nadmin_token = \"{TOKEN}\"\n{APP}");
    let config = Config::from_toml(&with_token, Overrides::default()).expect("config");
    assert_eq!(config.admin_token(), Some(TOKEN));
    let short = format!("[server]\nadmin_token = \"short\"\n{APP}");
    assert!(Config::from_toml(&short, Overrides::default()).is_err());
    // The flag (or its environment variable) wins over the file.
    let overrides = Overrides {
        admin_token: Some("from-the-environment-0123".into()),
        ..Overrides::default()
    };
    let config = Config::from_toml(&format!("{public}{APP}"), overrides).expect("config");
    assert_eq!(config.admin_token(), Some("from-the-environment-0123"));
    // Loopback needs none.
    assert!(Config::from_toml(APP, Overrides::default())
        .expect("config")
        .admin_token()
        .is_none());
}

#[test]
fn the_documented_example_config_is_valid() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config.md"))
        .expect("docs");
    let example = doc
        .split("```toml")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block");
    let config = Config::from_toml(example, Overrides::default()).expect("the example parses");
    assert_eq!(config.sample().rules.len(), 2);
    assert_eq!(config.limits().ip_rate.burst, 100.0);
    assert_eq!(
        config.apps()[0].rate_limit.map(|r| r.per_second),
        Some(200.0)
    );
}
