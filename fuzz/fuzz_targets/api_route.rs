//! The fetch API's request parsing: method, raw path (with or without a stage), raw query string
//! (percent-decoding, repeated parameters) and the Accept header; every rejection maps to a 4xx.
#![no_main]

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tier_fetch::response::{HttpResponse, status_for};
use tier_fetch::routes::Route;

#[derive(Arbitrary, Debug)]
struct Request {
    post: bool,
    path: String,
    query: Option<String>,
    accept: Option<String>,
}

fuzz_target!(|input: Request| {
    let mut headers = json!({"host": "api.example"});
    if let Some(accept) = input.accept {
        headers["accept"] = json!(accept);
    }
    let event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": input.path,
        "rawQueryString": input.query,
        "headers": headers,
        "requestContext": {
            "http": {
                "method": if input.post { "POST" } else { "GET" },
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "fuzz"
            }
        },
        "isBase64Encoded": false
    });
    // Header values the HTTP layer would refuse never reach the function.
    let Ok(req) = serde_json::from_value::<ApiGatewayV2httpRequest>(event) else {
        return;
    };
    if let Err(e) = Route::parse(&req) {
        let status = status_for(e.code());
        assert!((400..500).contains(&status), "{e} maps to {status}");
        let response = HttpResponse::from_route(&e);
        assert!(
            (400..500).contains(&response.status_code),
            "{e} answers {}",
            response.status_code
        );
    }
});
