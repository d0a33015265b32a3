//! Behaviour of the hub: order, isolation, re-entrancy, protection, streams.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_events::{
    AuthEvent, AuthEventError, AuthSignInDetails, AuthUser, Hub, HubError, HubPayload, ListenerHandle,
    PROTECTED_CHANNELS,
};
use serde_json::json;

fn ev(name: &str) -> HubPayload {
    HubPayload::new(name)
}

fn seq_payload(n: u64) -> HubPayload {
    HubPayload::new("n").with_data(json!(n))
}

/// Runs `f` on a thread and fails if it does not finish in time (a deadlock
/// would otherwise hang the test run).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("did not finish in time (deadlock?)")
}

#[test]
fn ten_thousand_listeners_receive_each_event_in_registration_order() {
    let hub = Hub::new();
    let log: Arc<Mutex<Vec<(usize, u64)>>> = Arc::new(Mutex::new(Vec::with_capacity(30_000)));
    let handles: Vec<ListenerHandle> = (0..10_000)
        .map(|i| {
            let log = log.clone();
            hub.listen("bulk", move |c| {
                let n = c.payload.data.as_ref().and_then(|d| d.as_u64()).unwrap();
                log.lock().unwrap().push((i, n));
            })
        })
        .collect();
    assert_eq!(hub.listener_count("bulk"), 10_000);
    for n in 0..3 {
        hub.dispatch("bulk", seq_payload(n)).unwrap();
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 30_000);
    for n in 0..3u64 {
        let slice = &log[(n as usize) * 10_000..(n as usize + 1) * 10_000];
        for (i, entry) in slice.iter().enumerate() {
            assert_eq!(*entry, (i, n), "event {n}: position {i} got listener {}", entry.0);
        }
    }
    drop(handles);
    assert_eq!(hub.listener_count("bulk"), 0);
}

#[test]
fn events_from_each_dispatcher_arrive_in_dispatch_order() {
    let hub = Hub::new();
    // Four listeners, four dispatching threads, 500 events each.
    type Log = Arc<Mutex<Vec<(u64, u64)>>>;
    let logs: Vec<Log> = (0..4).map(|_| Arc::new(Mutex::new(Vec::new()))).collect();
    let _handles: Vec<_> = logs
        .iter()
        .map(|log| {
            let log = log.clone();
            hub.listen("ordered", move |c| {
                let d = c.payload.data.as_ref().unwrap();
                log.lock().unwrap().push((d["t"].as_u64().unwrap(), d["n"].as_u64().unwrap()));
            })
        })
        .collect();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for n in 0..500u64 {
                    hub.dispatch("ordered", HubPayload::new("e").with_data(json!({"t": t, "n": n}))).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for log in &logs {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 2000);
        for t in 0..4 {
            let from_t: Vec<u64> = log.iter().filter(|(tt, _)| *tt == t).map(|(_, n)| *n).collect();
            assert_eq!(from_t, (0..500).collect::<Vec<_>>(), "dispatcher {t} out of order");
        }
    }
}

#[test]
fn a_panicking_listener_does_not_stop_the_others_or_poison_the_hub() {
    let hub = Hub::new();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c0 = calls.clone();
    let _a = hub.listen("x", move |_| c0.lock().unwrap().push("a"));
    let _b = hub.listen("x", |_| panic!("listener b fails"));
    let c2 = calls.clone();
    let _c = hub.listen("x", move |_| c2.lock().unwrap().push("c"));

    hub.dispatch("x", ev("one")).unwrap();
    hub.dispatch("x", ev("two")).unwrap();
    assert_eq!(*calls.lock().unwrap(), ["a", "c", "a", "c"]);
    assert_eq!(hub.listener_panics(), 2);

    // Still fully usable: new listeners, other channels, removal.
    let c3 = calls.clone();
    let d = hub.listen("x", move |_| c3.lock().unwrap().push("d"));
    hub.dispatch("x", ev("three")).unwrap();
    drop(d);
    assert_eq!(calls.lock().unwrap()[4..], ["a", "c", "d"]);
}

#[test]
fn listeners_can_add_and_remove_listeners_during_dispatch_without_deadlock() {
    within(20, || {
        let hub = Hub::new();
        let log = Arc::new(Mutex::new(Vec::<String>::new()));

        // L0 adds a listener on its first call; the new one must not see the
        // event being dispatched, only later ones.
        let added: Arc<Mutex<Vec<ListenerHandle>>> = Arc::default();
        let (h2, l2, a2) = (hub.clone(), log.clone(), added.clone());
        let _l0 = hub.listen("r", move |c| {
            l2.lock().unwrap().push(format!("L0:{}", c.payload.event));
            if a2.lock().unwrap().is_empty() {
                let l3 = l2.clone();
                let h = h2.listen("r", move |c| l3.lock().unwrap().push(format!("new:{}", c.payload.event)));
                a2.lock().unwrap().push(h);
            }
        });

        // L1 removes itself on its first call.
        let own: Arc<Mutex<Option<ListenerHandle>>> = Arc::default();
        let (l1log, own1) = (log.clone(), own.clone());
        let h1 = hub.listen("r", move |c| {
            l1log.lock().unwrap().push(format!("L1:{}", c.payload.event));
            drop(own1.lock().unwrap().take());
        });
        *own.lock().unwrap() = Some(h1);

        // L2 removes L3 (registered after it) before L3 is reached.
        let victim: Arc<Mutex<Option<ListenerHandle>>> = Arc::default();
        let (l2log, v2) = (log.clone(), victim.clone());
        let _l2 = hub.listen("r", move |c| {
            l2log.lock().unwrap().push(format!("L2:{}", c.payload.event));
            drop(v2.lock().unwrap().take());
        });
        let l3log = log.clone();
        let l3 = hub.listen("r", move |c| l3log.lock().unwrap().push(format!("L3:{}", c.payload.event)));
        *victim.lock().unwrap() = Some(l3);

        hub.dispatch("r", ev("e1")).unwrap();
        hub.dispatch("r", ev("e2")).unwrap();
        let log = log.lock().unwrap().clone();
        assert_eq!(log, ["L0:e1", "L1:e1", "L2:e1", "L0:e2", "L2:e2", "new:e2"]);
        assert_eq!(hub.listener_count("r"), 3);
    });
}

#[test]
fn an_event_dispatched_from_a_listener_is_delivered_after_the_current_one() {
    within(20, || {
        let hub = Hub::new();
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let (h, l) = (hub.clone(), log.clone());
        let _first = hub.listen("n", move |c| {
            l.lock().unwrap().push(format!("first:{}", c.payload.event));
            if c.payload.event == "outer" {
                h.dispatch("n", ev("nested")).unwrap();
                // And on another channel: also queued behind "outer".
                h.dispatch("other", ev("side")).unwrap();
            }
        });
        let l = log.clone();
        let _second = hub.listen("n", move |c| l.lock().unwrap().push(format!("second:{}", c.payload.event)));
        let l = log.clone();
        let _other = hub.listen("other", move |c| l.lock().unwrap().push(format!("other:{}", c.payload.event)));

        hub.dispatch("n", ev("outer")).unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            ["first:outer", "second:outer", "first:nested", "second:nested", "other:side"]
        );
    });
}

#[test]
fn a_slow_listener_on_one_channel_does_not_block_other_channels() {
    let hub = Hub::new();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let entered_tx = Mutex::new(entered_tx);
    let _slow = hub.listen("slow", move |_| {
        entered_tx.lock().unwrap().send(()).unwrap();
        // Blocks until the test releases it (or 30 s).
        let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(30));
    });
    let fast_hits = Arc::new(AtomicUsize::new(0));
    let f = fast_hits.clone();
    let _fast = hub.listen("fast", move |_| {
        f.fetch_add(1, Ordering::SeqCst);
    });

    let h = hub.clone();
    let blocked = std::thread::spawn(move || h.dispatch("slow", ev("tick")).unwrap());
    entered_rx.recv_timeout(Duration::from_secs(10)).unwrap();

    // The slow listener is running right now; another thread's dispatches,
    // listens and removals still go through.
    let start = Instant::now();
    for _ in 0..100 {
        hub.dispatch("fast", ev("tock")).unwrap();
    }
    let extra = hub.listen("fast", |_| {});
    drop(extra);
    assert_eq!(fast_hits.load(Ordering::SeqCst), 100);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!blocked.is_finished(), "the slow listener should still be running");

    release_tx.send(()).unwrap();
    blocked.join().unwrap();
}

#[tokio::test]
async fn a_stream_consumer_never_blocks_the_dispatcher() {
    let hub = Hub::new();
    let mut stalled = hub.subscribe("s", 16); // never read until the end
    let counted = Arc::new(AtomicUsize::new(0));
    let c = counted.clone();
    let _l = hub.listen("s", move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let start = Instant::now();
    for n in 0..10_000 {
        hub.dispatch("s", seq_payload(n)).unwrap();
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(counted.load(Ordering::SeqCst), 10_000);
    // The bounded queue kept the newest 16 and counted the rest.
    assert_eq!(stalled.dropped_events(), 10_000 - 16);
    let first = stalled.next_event().await.unwrap();
    assert_eq!(first.payload.data, Some(json!(10_000 - 16)));
}

#[tokio::test]
async fn streams_deliver_in_order_and_end_when_the_hub_is_gone() {
    let hub = Hub::new();
    let mut s = hub.subscribe("s", 1024);
    let producer = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 0..200 {
                hub.dispatch("s", seq_payload(n)).unwrap();
                if n % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    for n in 0..200u64 {
        let c = tokio::time::timeout(Duration::from_secs(10), s.next_event()).await.unwrap().unwrap();
        assert_eq!(c.payload.data, Some(json!(n)));
    }
    producer.await.unwrap();
    assert_eq!(s.dropped_events(), 0);
    drop(hub);
    assert!(tokio::time::timeout(Duration::from_secs(10), s.next_event()).await.unwrap().is_none());
}

#[test]
fn dropping_a_stream_or_handle_unsubscribes_and_detach_keeps_listening() {
    let hub = Hub::new();
    let s = hub.subscribe("c", 4);
    assert_eq!(hub.listener_count("c"), 1);
    drop(s);
    assert_eq!(hub.listener_count("c"), 0);

    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let handle = hub.listen("c", move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    });
    hub.dispatch("c", ev("1")).unwrap();
    handle.remove();
    hub.dispatch("c", ev("2")).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let h = hits.clone();
    hub.listen("c", move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    })
    .detach();
    hub.dispatch("c", ev("3")).unwrap();
    hub.dispatch("c", ev("4")).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // A handle that outlives its hub is harmless.
    let hub2 = Hub::new();
    let late = hub2.listen("c", |_| {});
    drop(hub2);
    drop(late);
}

#[test]
fn protected_channels_refuse_dispatch_without_the_key() {
    let (hub, key) = Hub::new_with_auth_key();
    let hits = Arc::new(AtomicUsize::new(0));
    let _handles: Vec<_> = PROTECTED_CHANNELS
        .iter()
        .map(|ch| {
            let h = hits.clone();
            hub.listen(*ch, move |_| {
                h.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    assert_eq!(
        PROTECTED_CHANNELS,
        ["core", "auth", "api", "analytics", "interactions", "pubsub", "storage", "ui", "xr"]
    );
    for ch in PROTECTED_CHANNELS {
        assert_eq!(hub.dispatch(ch, ev("signedOut")), Err(HubError::ProtectedChannel { channel: ch.to_owned() }));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a refused event must not be delivered");

    // A key from another hub does not open this one.
    let (_other, foreign) = Hub::new_with_auth_key();
    assert_eq!(hub.dispatch_auth(&foreign, &AuthEvent::SignedOut), Err(HubError::ForeignKey));
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    hub.dispatch_auth(&key, &AuthEvent::SignedOut).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(format!("{key:?}").starts_with("AuthChannelKey"));
}

fn all_events() -> Vec<AuthEvent> {
    let err = AuthEventError {
        name: "NotAuthorizedException".into(),
        message: "Refresh Token has expired".into(),
        recovery_suggestion: None,
    };
    vec![
        AuthEvent::SignedIn(AuthUser {
            username: "alice".into(),
            user_id: "sub-1".into(),
            sign_in_details: Some(AuthSignInDetails {
                login_id: Some("alice@example.com".into()),
                auth_flow_type: Some("USER_SRP_AUTH".into()),
            }),
        }),
        AuthEvent::SignedOut,
        AuthEvent::TokenRefresh,
        AuthEvent::TokenRefreshFailure(Some(err.clone())),
        AuthEvent::SignInWithRedirect,
        AuthEvent::SignInWithRedirectFailure(Some(err)),
        AuthEvent::CustomOAuthState("my-state".into()),
        AuthEvent::SessionExpired,
        AuthEvent::UserDeleted,
    ]
}

#[test]
fn auth_events_use_amplify_names_and_payload_shapes() {
    let names: Vec<&str> = all_events().iter().map(AuthEvent::as_str).collect();
    assert_eq!(names, AuthEvent::NAMES);
    assert_eq!(
        names,
        [
            "signedIn",
            "signedOut",
            "tokenRefresh",
            "tokenRefresh_failure",
            "signInWithRedirect",
            "signInWithRedirect_failure",
            "customOAuthState",
            "sessionExpired",
            "userDeleted"
        ]
    );
    let json_of = |e: &AuthEvent| serde_json::to_value(e.to_payload()).unwrap();
    let ev = all_events();
    assert_eq!(
        json_of(&ev[0]),
        json!({"event": "signedIn", "data": {"username": "alice", "userId": "sub-1",
            "signInDetails": {"loginId": "alice@example.com", "authFlowType": "USER_SRP_AUTH"}}})
    );
    assert_eq!(json_of(&ev[1]), json!({"event": "signedOut"}));
    assert_eq!(
        json_of(&ev[3]),
        json!({"event": "tokenRefresh_failure",
               "data": {"error": {"name": "NotAuthorizedException", "message": "Refresh Token has expired"}}})
    );
    assert_eq!(json_of(&ev[6]), json!({"event": "customOAuthState", "data": "my-state"}));
    assert_eq!(json_of(&AuthEvent::TokenRefreshFailure(None)), json!({"event": "tokenRefresh_failure", "data": {}}));

    for e in all_events() {
        assert_eq!(AuthEvent::from_payload(&e.to_payload()).unwrap(), e);
    }
    // Amplify JS payloads parse, including a failure without data.
    let from_js: HubPayload = serde_json::from_value(json!({"event": "signInWithRedirect_failure"})).unwrap();
    assert_eq!(AuthEvent::from_payload(&from_js).unwrap(), AuthEvent::SignInWithRedirectFailure(None));
    assert!(AuthEvent::from_payload(&HubPayload::new("configure")).is_err());
    assert!(AuthEvent::from_payload(&HubPayload::new("signedIn").with_data(json!(42))).is_err());
}

#[test]
fn listen_auth_receives_typed_events_and_skips_unknown_ones() {
    let (hub, key) = Hub::new_with_auth_key();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let _h = hub.listen_auth(move |e| g.lock().unwrap().push(e.clone()));
    for e in all_events() {
        hub.dispatch_auth(&key, &e).unwrap();
    }
    hub.dispatch_auth_payload(&key, HubPayload::new("notAnAuthEvent")).unwrap();
    assert_eq!(*got.lock().unwrap(), all_events());
}
