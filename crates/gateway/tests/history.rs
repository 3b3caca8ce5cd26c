//! A long thread read back by pages, both ways, exactly: no gap, no duplicate, newest page
//! first. Real gateway, real redis-server.

mod common;

use common::*;
use serde_json::Value;
use testkit::RedisServer;

/// Reads a page; returns its body.
async fn page(gw: &Gateway, token: &str, query: &str) -> Value {
    let r = gw
        .client
        .get(&format!("/api/threads/long/events?{query}"), Some(token))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1200_event_thread_reads_back_exactly_by_pages_in_both_directions() {
    let server = RedisServer::start().unwrap();
    let gw = start_gateway(&server.url(), |_| {}).await;
    wait_ready(&gw).await;
    let (token, mut ws, _) = login_and_connect(&gw, "longread").await;
    create_threads(&gw, &token, &["long"]).await;
    let mut written = Vec::new();
    for i in 0..200 {
        ask(&mut ws, "long", &format!("what is {i}+0")).await;
        let run = stored(&until_type(&mut ws, "agent_completed", |_| true).await);
        assert_eq!(types(&run), RUN);
        written.extend(
            run.iter()
                .map(|e| e["event_id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(written.len(), 1200);

    // Newest first, scrolling back.
    let newest = page(&gw, &token, "limit=500").await;
    assert_eq!(ids(&newest), written[700..]);
    assert_eq!(
        (
            &newest["has_more"],
            &newest["has_older"],
            &newest["has_newer"]
        ),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(false))
    );
    assert_eq!(newest["before"], written[700].as_str());
    assert_eq!(newest["after"], written[1199].as_str());
    assert_eq!(newest["events"][499]["text"], "199+0 = 199");
    let middle = page(&gw, &token, &format!("limit=500&before={}", written[700])).await;
    assert_eq!(ids(&middle), written[200..700]);
    assert_eq!(
        (&middle["has_older"], &middle["has_newer"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    let oldest = page(
        &gw,
        &token,
        &format!("limit=500&before={}", middle["before"].as_str().unwrap()),
    )
    .await;
    assert_eq!(ids(&oldest), written[..200]);
    assert_eq!(
        (&oldest["has_more"], &oldest["before"]),
        (&Value::Bool(false), &Value::Null)
    );
    let mut back: Vec<String> = [ids(&oldest), ids(&middle), ids(&newest)].concat();
    assert_eq!(back, written);

    // From the start, catching up.
    back.clear();
    let mut after = "0-0".to_string();
    let mut pages = 0;
    loop {
        let p = page(&gw, &token, &format!("limit=500&after={after}")).await;
        back.extend(ids(&p));
        pages += 1;
        assert_eq!(p["has_older"], pages > 1, "page {pages}");
        after = p["after"].as_str().unwrap().to_string();
        if p["has_more"] == false {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(back, written);

    // The default page is the newest 100, and a page past the end is empty but keeps the
    // cursor.
    let default = page(&gw, &token, "").await;
    assert_eq!(ids(&default), written[1100..]);
    let past = page(&gw, &token, &format!("after={}", written[1199])).await;
    assert_eq!(ids(&past), Vec::<String>::new());
    assert_eq!(
        (&past["has_more"], &past["after"]),
        (&Value::Bool(false), &Value::String(written[1199].clone()))
    );
}
