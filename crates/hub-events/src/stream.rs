//! [`HubStream`]: a channel's events as an async stream.

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_core::Stream;

use crate::hub::{HubCapsule, ListenerHandle};

struct State {
    queue: VecDeque<Arc<HubCapsule>>,
    capacity: usize,
    dropped: u64,
    closed: bool,
    waker: Option<Waker>,
}

pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Only this module's short critical sections take the lock; none can
        // panic half-way, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The hub's end of a stream. Dropping it (when the listener is removed or
/// the hub is dropped) ends the stream.
pub(crate) struct StreamSender(Arc<Shared>);

impl StreamSender {
    pub(crate) fn new(capacity: usize) -> (Self, Arc<Shared>) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity: capacity.max(1),
                dropped: 0,
                closed: false,
                waker: None,
            }),
        });
        (Self(Arc::clone(&shared)), shared)
    }

    /// Never blocks: a full queue drops its oldest event. Returns the waker
    /// to wake once the caller has released its own locks.
    #[must_use]
    pub(crate) fn push(&self, capsule: Arc<HubCapsule>) -> Option<Waker> {
        let mut s = self.0.lock();
        if s.queue.len() >= s.capacity {
            s.queue.pop_front();
            s.dropped += 1;
        }
        s.queue.push_back(capsule);
        s.waker.take()
    }
}

impl Drop for StreamSender {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock();
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A channel's events as a [`Stream`] of shared [`HubCapsule`]s, from
/// [`Hub::subscribe`](crate::Hub::subscribe). The stream ends when the hub is
/// dropped; dropping the stream stops listening.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use hub_events::{Hub, HubPayload};
///
/// let hub = Hub::new();
/// let mut events = hub.subscribe("orders", 64);
/// hub.dispatch("orders", HubPayload::new("placed"))?;
/// hub.dispatch("orders", HubPayload::new("shipped"))?;
/// assert_eq!(events.next_event().await.unwrap().payload.event, "placed");
/// assert_eq!(events.next_event().await.unwrap().payload.event, "shipped");
/// # Ok::<(), hub_events::HubError>(()) }).unwrap();
/// ```
pub struct HubStream {
    shared: Arc<Shared>,
    _handle: ListenerHandle,
}

impl fmt::Debug for HubStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.shared.lock();
        f.debug_struct("HubStream")
            .field("channel", &self._handle.channel())
            .field("queued", &s.queue.len())
            .field("dropped", &s.dropped)
            .field("closed", &s.closed)
            .finish()
    }
}

impl HubStream {
    pub(crate) fn new(shared: Arc<Shared>, handle: ListenerHandle) -> Self {
        Self { shared, _handle: handle }
    }

    /// The next event; `None` once the hub is gone and the queue is empty.
    pub async fn next_event(&mut self) -> Option<Arc<HubCapsule>> {
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The next queued event without waiting.
    pub fn try_next_event(&mut self) -> Option<Arc<HubCapsule>> {
        self.shared.lock().queue.pop_front()
    }

    /// How many events were dropped because the queue was full.
    #[must_use]
    pub fn dropped_events(&self) -> u64 {
        self.shared.lock().dropped
    }
}

impl Stream for HubStream {
    type Item = Arc<HubCapsule>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = self.shared.lock();
        if let Some(c) = s.queue.pop_front() {
            return Poll::Ready(Some(c));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        match &mut s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
