//! One session's decoder on its own thread: packets in through a bounded queue, the core
//! [`Receiver`] (reassembly, ordering, loss handling, decoding), events and feedback out.
//!
//! Live sessions decode on their own threads, not on the request pool: a frame has a deadline,
//! and a compress request queued ahead of it would make it miss it (the pool is for
//! compress/decompress; sessions are bounded by `max_sessions`).
//!
//! No delay builds up (WebRTC ingest): when a packet has waited longer than
//! [`crate::serve::Limits::session_backlog_ms`] (decoding fell behind), it and every packet
//! waiting after it are dropped as stale; their frames count as lost, the receiver asks for a
//! key frame, and decoding resumes at the present. The queue itself is bounded too
//! ([`crate::serve::Limits::session_queue_packets`]): beyond it new packets are dropped on
//! arrival. (A gRPC `DecodeStream` client paces itself: it gets no stale skipping.)

use std::sync::Arc;
use std::sync::mpsc::{
    Receiver as Inbox, RecvTimeoutError, SyncSender, TrySendError, sync_channel,
};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aic_core::session::{Receiver, ReceiverConfig, ReceiverEvent};
use aic_core::wire::ReassemblyConfig;

use crate::clock::{self, Stopwatch};
use crate::serve::service::Service;

/// What a decode worker produces.
#[derive(Debug)]
pub enum WorkerOutput {
    /// An event of the receiver: a frame to show, dropped, or lost.
    Event(ReceiverEvent),
    /// A packet the receiver refused, with its error code.
    Rejected(&'static str),
    /// A feedback message for the sender (key-frame request, receiver report).
    Feedback(Vec<u8>),
    /// Packets dropped unread because decoding had fallen behind.
    Stale(usize),
}

/// A session's decode thread and the sending end of its packet queue.
#[derive(Debug)]
pub struct DecodeWorker {
    tx: Option<SyncSender<(Instant, Vec<u8>)>>,
    thread: Option<JoinHandle<()>>,
}

/// How often the worker advances the receiver's clock without packets.
const TICK: Duration = Duration::from_millis(20);

impl DecodeWorker {
    /// Starts a worker for a session named `name`; `sink` receives what it produces (on the
    /// worker's thread). Must be called inside the Tokio runtime.
    pub fn spawn(
        service: Arc<Service>,
        name: &str,
        max_wait: Option<Duration>,
        mut sink: impl FnMut(WorkerOutput) + Send + 'static,
    ) -> Result<Self, String> {
        let limits = *service.limits();
        let (tx, rx) = sync_channel::<(Instant, Vec<u8>)>(limits.session_queue_packets);
        let config = ReceiverConfig {
            reassembly: ReassemblyConfig {
                max_buffered_bytes: limits.session_reassembly_bytes,
                ..ReassemblyConfig::default()
            },
            ..ReceiverConfig::default()
        };
        let thread = std::thread::Builder::new()
            .name(format!("aic-session-{name}"))
            .spawn(move || {
                let mut receiver = Receiver::new(Arc::clone(service.neural()), config);
                run(&mut receiver, &rx, max_wait, &mut sink);
            })
            .map_err(|e| format!("cannot start a session thread: {e}"))?;
        Ok(DecodeWorker {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues one packet; `false` if the queue was full and the packet was dropped.
    pub fn push(&self, packet: Vec<u8>) -> bool {
        match self
            .tx
            .as_ref()
            .map(|tx| tx.try_send((clock::now(), packet)))
        {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }
}

impl Drop for DecodeWorker {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the packet it is on.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    receiver: &mut Receiver,
    rx: &Inbox<(Instant, Vec<u8>)>,
    max_wait: Option<Duration>,
    sink: &mut impl FnMut(WorkerOutput),
) {
    let clock = Stopwatch::start();
    let now_us = || (clock.elapsed_s() * 1e6) as u64;
    loop {
        let packet = match rx.recv_timeout(TICK) {
            Ok(p) => Some(p),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match packet {
            Some((queued, _)) if max_wait.is_some_and(|m| queued.elapsed() > m) => {
                // Behind: skip to the present (the frames skipped count as lost).
                let mut stale = 1;
                while rx.try_recv().is_ok() {
                    stale += 1;
                }
                sink(WorkerOutput::Stale(stale));
                receiver.handle_timeout(now_us());
            }
            Some((_, p)) => {
                if let Err(e) = receiver.handle_packet(&p, now_us()) {
                    sink(WorkerOutput::Rejected(e.code()));
                }
            }
            None => receiver.handle_timeout(now_us()),
        }
        while let Some(e) = receiver.poll_event() {
            sink(WorkerOutput::Event(e));
        }
        // At most a key-frame request and a report per turn.
        for _ in 0..2 {
            match receiver.poll_feedback(now_us()) {
                Some(f) => sink(WorkerOutput::Feedback(f)),
                None => break,
            }
        }
    }
}
