//! Behaviour of the hub: order, isolation, re-entrancy, protection, streams.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// Polls `cond` every millisecond until it holds or `timeout` passes.
fn wait_until(timeout: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

#[test]
fn ten_thousand_listeners_each_receive_a_hundred_events_in_dispatch_order() {
    let hub = Hub::new();
    let logs: Vec<Arc<Mutex<Vec<u64>>>> = (0..10_000).map(|_| Arc::new(Mutex::new(Vec::with_capacity(100)))).collect();
    let handles: Vec<ListenerHandle> = logs
        .iter()
        .map(|log| {
            let log = log.clone();
            hub.listen("bulk", move |c| {
                let n = c.payload.data.as_ref().and_then(|d| d.as_u64()).unwrap();
                log.lock().unwrap().push(n);
            })
        })
        .collect();
    assert_eq!(hub.listener_count("bulk"), 10_000);
    for n in 0..100 {
        hub.dispatch("bulk", seq_payload(n)).unwrap();
    }
    assert!(hub.flush_timeout(Duration::from_secs(120)), "1,000,000 deliveries did not finish");
    let expected: Vec<u64> = (0..100).collect();
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(*log.lock().unwrap(), expected, "listener {i}");
    }
    assert_eq!(hub.listener_panics(), 0);
    drop(handles);
    assert_eq!(hub.listener_count("bulk"), 0);
}

#[test]
fn events_from_each_dispatcher_arrive_in_dispatch_order() {
    let hub = Hub::new();
    // Four listeners, four dispatching threads, 500 events each.
    type Log = Arc<Mutex<Vec<(u64, u64)>>>;
    let logs: Vec<Log> = (0..4).map(|_| Arc::new(Mutex::new(Vec::new()))).collect();
    let overlaps = Arc::new(AtomicUsize::new(0));
    let _handles: Vec<_> = logs
        .iter()
        .map(|log| {
            let (log, overlaps) = (log.clone(), overlaps.clone());
            let running = Arc::new(AtomicBool::new(false));
            hub.listen("ordered", move |c| {
                // A listener is never called concurrently with itself.
                if running.swap(true, Ordering::SeqCst) {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                let d = c.payload.data.as_ref().unwrap();
                log.lock().unwrap().push((d["t"].as_u64().unwrap(), d["n"].as_u64().unwrap()));
                running.store(false, Ordering::SeqCst);
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
    assert!(hub.flush_timeout(Duration::from_secs(60)));
    let first = logs[0].lock().unwrap().clone();
    for log in &logs {
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 2000);
        for t in 0..4 {
            let from_t: Vec<u64> = log.iter().filter(|(tt, _)| *tt == t).map(|(_, n)| *n).collect();
            assert_eq!(from_t, (0..500).collect::<Vec<_>>(), "dispatcher {t} out of order");
        }
        // One channel, one order: every listener saw the same interleaving.
        assert_eq!(*log, first);
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "a listener ran concurrently with itself");
}

#[test]
fn a_panicking_listener_does_not_stop_the_others_or_later_events_to_itself() {
    let hub = Hub::new();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c0 = calls.clone();
    let _a = hub.listen("x", move |c| c0.lock().unwrap().push(format!("a:{}", c.payload.event)));
    // b fails on every event but "three"; it still gets "three".
    let c1 = calls.clone();
    let _b = hub.listen("x", move |c| {
        if c.payload.event != "three" {
            panic!("listener b fails on {}", c.payload.event);
        }
        c1.lock().unwrap().push(format!("b:{}", c.payload.event));
    });
    let c2 = calls.clone();
    let _c = hub.listen("x", move |c| c2.lock().unwrap().push(format!("c:{}", c.payload.event)));

    for e in ["one", "two", "three", "four"] {
        hub.dispatch("x", ev(e)).unwrap();
    }
    hub.flush();
    assert_eq!(hub.listener_panics(), 3);
    let calls = calls.lock().unwrap().clone();
    let of = |who: &str| -> Vec<String> { calls.iter().filter(|c| c.starts_with(who)).cloned().collect() };
    assert_eq!(of("a:"), ["a:one", "a:two", "a:three", "a:four"]);
    assert_eq!(of("b:"), ["b:three"]);
    assert_eq!(of("c:"), ["c:one", "c:two", "c:three", "c:four"]);

    // Still fully usable: new listeners, other channels, removal.
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let d = hub.listen("y", move |_| {
        h.fetch_add(1, Ordering::SeqCst);
    });
    hub.dispatch("y", ev("five")).unwrap();
    hub.flush();
    drop(d);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_slow_listener_delays_neither_dispatch_nor_other_listeners() {
    // More slow listeners than the pool has core workers (2 to 8): the pool
    // must grow for the fast listener to be served.
    const SLOW: usize = 10;
    let hub = Hub::new();
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let slow: Vec<ListenerHandle> = (0..SLOW)
        .map(|_| {
            let (s, f) = (started.clone(), finished.clone());
            hub.listen("work", move |_| {
                s.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_secs(2));
                f.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let fast = Arc::new(Mutex::new(Vec::new()));
    let f = fast.clone();
    let _fast = hub.listen("work", move |c| f.lock().unwrap().push(c.payload.data.as_ref().unwrap().as_u64().unwrap()));

    let start = Instant::now();
    for n in 0..100 {
        hub.dispatch("work", seq_payload(n)).unwrap();
    }
    // Waiting on one slow listener would take 2 s; 1 s leaves room for a
    // loaded CI machine without hiding that.
    assert!(start.elapsed() < Duration::from_secs(1), "dispatch took {:?}", start.elapsed());

    // The fast listener gets all 100 events while every slow one is still
    // in its first 2 s call (each has 99 more to go).
    assert!(wait_until(Duration::from_secs(10), || fast.lock().unwrap().len() == 100));
    assert_eq!(*fast.lock().unwrap(), (0..100).collect::<Vec<u64>>());
    assert_eq!(finished.load(Ordering::SeqCst), 0, "the fast listener waited for a slow one");
    // All slow listeners run at the same time, each on its own worker.
    assert!(wait_until(Duration::from_secs(10), || started.load(Ordering::SeqCst) == SLOW));

    // Removing them discards their queued events: after the running calls
    // return, none starts again, and flush does not wait for them.
    drop(slow);
    assert!(hub.flush_timeout(Duration::from_secs(10)));
    assert!(wait_until(Duration::from_secs(20), || finished.load(Ordering::SeqCst) == SLOW));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(started.load(Ordering::SeqCst), SLOW);
}

#[test]
fn flush_waits_for_delivery_and_flush_timeout_reports_a_stuck_listener() {
    let hub = Hub::new();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let _stuck = hub.listen("f", move |c| {
        if c.payload.event == "block" {
            let _ = release_rx.lock().unwrap().recv_timeout(Duration::from_secs(30));
        }
        s.fetch_add(1, Ordering::SeqCst);
    });
    assert!(hub.flush_timeout(Duration::from_secs(1)), "nothing dispatched: nothing to wait for");
    hub.dispatch("f", ev("block")).unwrap();
    hub.dispatch("f", ev("after")).unwrap();
    assert!(!hub.flush_timeout(Duration::from_millis(100)));
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    release_tx.send(()).unwrap();
    hub.flush();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn flush_async_completes_after_delivery() {
    let hub = Hub::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let _l = hub.listen("a", move |_| {
        std::thread::sleep(Duration::from_millis(1));
        s.fetch_add(1, Ordering::SeqCst);
    });
    for n in 0..50 {
        hub.dispatch("a", seq_payload(n)).unwrap();
    }
    let flushed = hub.flush_async();
    hub.dispatch("a", seq_payload(50)).unwrap(); // after the call: not waited for
    tokio::time::timeout(Duration::from_secs(30), flushed).await.unwrap();
    assert!(seen.load(Ordering::SeqCst) >= 50);
    tokio::time::timeout(Duration::from_secs(30), hub.flush_async()).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 51);
}

#[test]
fn listeners_can_add_and_remove_listeners_during_dispatch_without_deadlock() {
    within(20, || {
        let hub = Hub::new();
        let log = |name: &'static str| (name, Arc::new(Mutex::new(Vec::<String>::new())));
        let (l0, l1, l2, l3, new) = (log("L0"), log("L1"), log("L2"), log("L3"), log("new"));

        // L0 adds a listener on its first call: it gets later events.
        let added: Arc<Mutex<Vec<ListenerHandle>>> = Arc::default();
        let (h0, log0, new_log, a0) = (hub.clone(), l0.1.clone(), new.1.clone(), added.clone());
        let _l0 = hub.listen("r", move |c| {
            log0.lock().unwrap().push(c.payload.event.clone());
            if a0.lock().unwrap().is_empty() {
                let n = new_log.clone();
                let h = h0.listen("r", move |c| n.lock().unwrap().push(c.payload.event.clone()));
                a0.lock().unwrap().push(h);
            }
        });

        // L1 removes itself on its first call; e2, already queued, is dropped.
        let own: Arc<Mutex<Option<ListenerHandle>>> = Arc::default();
        let (log1, own1) = (l1.1.clone(), own.clone());
        let h1 = hub.listen("r", move |c| {
            log1.lock().unwrap().push(c.payload.event.clone());
            drop(own1.lock().unwrap().take());
        });
        *own.lock().unwrap() = Some(h1);

        // L2 removes L3.
        let victim: Arc<Mutex<Option<ListenerHandle>>> = Arc::default();
        let (log2, v2) = (l2.1.clone(), victim.clone());
        let _l2 = hub.listen("r", move |c| {
            log2.lock().unwrap().push(c.payload.event.clone());
            drop(v2.lock().unwrap().take());
        });
        let log3 = l3.1.clone();
        let h3 = hub.listen("r", move |c| log3.lock().unwrap().push(c.payload.event.clone()));
        *victim.lock().unwrap() = Some(h3);

        hub.dispatch("r", ev("e1")).unwrap();
        hub.dispatch("r", ev("e2")).unwrap();
        hub.flush();
        hub.dispatch("r", ev("e3")).unwrap();
        hub.flush();
        let got = |l: &(&str, Arc<Mutex<Vec<String>>>)| l.1.lock().unwrap().clone();
        assert_eq!(got(&l0), ["e1", "e2", "e3"]);
        assert_eq!(got(&l1), ["e1"]);
        assert_eq!(got(&l2), ["e1", "e2", "e3"]);
        // L3 ran in parallel with L2 and may have got e1 (and e2) before
        // its removal, but nothing after the flush that followed it.
        assert!(!got(&l3).contains(&"e3".to_owned()));
        assert_eq!(got(&new).last().map(String::as_str), Some("e3"));
        assert_eq!(hub.listener_count("r"), 3);
    });
}

#[test]
fn an_event_dispatched_from_a_listener_reaches_every_listener_after_the_current_one() {
    within(20, || {
        let hub = Hub::new();
        let (first, second, other) =
            (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
        let (h, l) = (hub.clone(), first.clone());
        let _first = hub.listen("n", move |c| {
            l.lock().unwrap().push(c.payload.event.clone());
            if c.payload.event == "outer" {
                h.dispatch("n", ev("nested")).unwrap();
                h.dispatch("other", ev("side")).unwrap();
            }
        });
        let l = second.clone();
        let _second = hub.listen("n", move |c| l.lock().unwrap().push(c.payload.event.clone()));
        let l = other.clone();
        let _other = hub.listen("other", move |c| l.lock().unwrap().push(c.payload.event.clone()));

        hub.dispatch("n", ev("outer")).unwrap();
        // The first flush returns after `first` handled "outer", so the
        // nested events have been dispatched; the second one delivers them.
        hub.flush();
        hub.flush();
        assert_eq!(*first.lock().unwrap(), ["outer", "nested"]);
        assert_eq!(*second.lock().unwrap(), ["outer", "nested"]);
        assert_eq!(*other.lock().unwrap(), ["side"]);
    });
}

#[test]
fn re_entrant_dispatch_and_flush_inside_a_callback_do_not_deadlock() {
    within(30, || {
        let hub = Hub::new();
        // Each event makes the listener dispatch the next one on its own
        // channel, and flush (which must not wait for itself).
        let got = Arc::new(Mutex::new(Vec::new()));
        let (h, g) = (hub.clone(), got.clone());
        let _chain = hub.listen("chain", move |c| {
            let n = c.payload.data.as_ref().unwrap().as_u64().unwrap();
            g.lock().unwrap().push(n);
            if n < 1000 {
                h.dispatch("chain", seq_payload(n + 1)).unwrap();
                h.flush();
                assert!(!h.flush_timeout(Duration::from_secs(5)), "flush_timeout does not wait inside a callback");
            }
        });
        // And two listeners that dispatch to each other's channel.
        let (h, g2) = (hub.clone(), Arc::new(AtomicUsize::new(0)));
        let gp = g2.clone();
        let _ping = hub.listen("ping", move |c| {
            gp.fetch_add(1, Ordering::SeqCst);
            let n = c.payload.data.as_ref().unwrap().as_u64().unwrap();
            if n < 500 {
                h.dispatch("pong", seq_payload(n + 1)).unwrap();
            }
        });
        let h = hub.clone();
        let _pong = hub.listen("pong", move |c| {
            let n = c.payload.data.as_ref().unwrap().as_u64().unwrap();
            h.dispatch("ping", seq_payload(n + 1)).unwrap();
        });

        hub.dispatch("chain", seq_payload(0)).unwrap();
        hub.dispatch("ping", seq_payload(0)).unwrap();
        assert!(wait_until(Duration::from_secs(20), || got.lock().unwrap().len() == 1001
            && g2.load(Ordering::SeqCst) == 251));
        assert_eq!(*got.lock().unwrap(), (0..=1000).collect::<Vec<u64>>());
        assert_eq!(hub.listener_panics(), 0);
    });
}

#[test]
fn dropping_the_hub_still_delivers_the_queued_events() {
    let hub = Hub::new();
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    hub.listen("d", move |c| {
        let _ = tx.lock().unwrap().send(c.payload.data.as_ref().unwrap().as_u64().unwrap());
    })
    .detach();
    for n in 0..10 {
        hub.dispatch("d", seq_payload(n)).unwrap();
    }
    drop(hub);
    let got: Vec<u64> = (0..10).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    // And then the listener is gone with the hub: the channel disconnects.
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Err(mpsc::RecvTimeoutError::Disconnected));
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
    hub.flush();
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
    hub.flush();
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
    hub.flush();
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
    hub.flush();
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a refused event must not be delivered");

    // A key from another hub does not open this one.
    let (_other, foreign) = Hub::new_with_auth_key();
    assert_eq!(hub.dispatch_auth(&foreign, &AuthEvent::SignedOut), Err(HubError::ForeignKey));
    hub.flush();
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    hub.dispatch_auth(&key, &AuthEvent::SignedOut).unwrap();
    hub.flush();
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
        AuthEvent::FederatedToIdentityPool,
        AuthEvent::FederationToIdentityPoolCleared,
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
            "userDeleted",
            "federatedToIdentityPool",
            "federationToIdentityPoolCleared"
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
    hub.flush();
    assert_eq!(*got.lock().unwrap(), all_events());
}
