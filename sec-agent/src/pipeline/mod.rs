//! The inspection pipeline, stage by stage on one thread: capture -> decode -> reassemble
//! -> parse -> normalize -> detect -> decide -> enforce -> report. A ban is written to the
//! kernel map (through the [`Enforcer`]) right after the request that earned it is
//! inspected, before anything is logged.
//!
//! [`Pipeline`] is everything after the capture ring, fed one frame at a time, so tests
//! drive it from recorded frames with a [`crate::inspect::decide::MemoryEnforcer`];
//! [`run`] is the loop that feeds it from the rings.

mod run;
#[cfg(test)]
mod tests;

use std::{mem, sync::Arc, time::Instant};

use anyhow::Result;

pub use run::{InterfaceState, Rings, run};

use crate::{
    config::Config,
    inspect::{
        decide::{Decider, Enforcer},
        decode::decode,
        detect::Inspector,
        parse::{Head, HttpEvent, HttpFlow, Limits, Message},
        reassemble::{Direction, FlowKey, Reassembler, ReassemblyStats, StreamEvent},
    },
    service::report::{Event, ReassemblyCap, Reporter},
};

/// One pipeline instance with all its state.
pub struct Pipeline<E: Enforcer> {
    reassembler: Reassembler<HttpFlow>,
    limits: Limits,
    /// By port: whether it is an HTTP server port (a user-space copy of the kernel's
    /// `http_ports` map, which decides what is captured).
    http_ports: Vec<bool>,
    inspector: Inspector,
    decider: Decider,
    enforcer: E,
    reporter: Arc<Reporter>,
    /// Reassembly counters already reported.
    published: ReassemblyStats,
    /// Events of the current frame or tick, buffers kept from one to the next.
    pending: Vec<(FlowKey, HttpEvent)>,
    /// One flow's events, before they get their key in `pending`.
    flow_events: Vec<HttpEvent>,
}

fn port_table(ports: &[u16]) -> Vec<bool> {
    let mut table = vec![false; 1 << 16];
    for &p in ports {
        table[usize::from(p)] = true;
    }
    table
}

impl<E: Enforcer> Pipeline<E> {
    /// Builds the pipeline from the config, banning through `enforcer` and reporting to
    /// `reporter`.
    ///
    /// # Errors
    /// Detection setup failed (unreadable pattern file, invalid regex).
    pub fn new(config: &Config, enforcer: E, reporter: Arc<Reporter>) -> Result<Self> {
        Ok(Pipeline {
            reassembler: Reassembler::new(config.reassembly),
            limits: config.http,
            http_ports: port_table(&config.capture.http_ports),
            inspector: Inspector::new(&config.detections)?,
            decider: Decider::new(config.detections.clone(), config.decide.clone()),
            enforcer,
            reporter,
            published: ReassemblyStats::default(),
            pending: Vec::new(),
            flow_events: Vec::new(),
        })
    }

    /// Applies a reloaded config: detections, their modes, thresholds and lists, decide
    /// policy, parsing limits, HTTP ports and the request log tier. Flows and their parse
    /// state are kept; per-source detection windows start over.
    ///
    /// # Errors
    /// Detection setup failed; the previous settings stay.
    pub fn reconfigure(&mut self, config: &Config) -> Result<()> {
        self.inspector = Inspector::new(&config.detections)?;
        self.decider = Decider::new(config.detections.clone(), config.decide.clone());
        self.limits = config.http;
        self.http_ports = port_table(&config.capture.http_ports);
        self.reporter.set_requests_log(config.events.requests_log);
        Ok(())
    }

    /// Reassembly counters so far.
    pub fn reassembly_stats(&self) -> ReassemblyStats {
        self.reassembler.stats()
    }

    /// The enforcer (tests read a [`crate::inspect::decide::MemoryEnforcer`]'s bans).
    pub fn enforcer(&self) -> &E {
        &self.enforcer
    }

    /// Processes one captured frame.
    pub fn on_frame(&mut self, frame: &[u8], now: Instant) {
        let Ok(segment) = decode(frame) else {
            self.reporter.emit(Event::FrameUndecodable);
            return;
        };
        let direction = if self.http_ports[usize::from(segment.dst.port())] {
            Direction::ToServer
        } else if self.http_ports[usize::from(segment.src.port())] {
            Direction::ToClient
        } else {
            return;
        };
        let (limits, pending, scratch) = (&self.limits, &mut self.pending, &mut self.flow_events);
        self.reassembler
            .push(&segment, direction, now, |key, dir, event, flow| {
                parse(pending, scratch, key, dir, event, flow, limits)
            });
        self.handle_pending(now);
    }

    /// Housekeeping: drops idle flows and reports the reassembly counters. Call about once
    /// a second.
    pub fn tick(&mut self, now: Instant) {
        let (limits, pending, scratch) = (&self.limits, &mut self.pending, &mut self.flow_events);
        self.reassembler.expire(now, |key, dir, event, flow| {
            parse(pending, scratch, key, dir, event, flow, limits)
        });
        self.handle_pending(now);
        self.reporter
            .emit(Event::FlowsTracked(self.reassembler.len()));
        let st = self.reassembler.stats();
        let last = mem::replace(&mut self.published, st);
        for (cap, count) in [
            (
                ReassemblyCap::FlowBuffer,
                st.flow_buffer_caps - last.flow_buffer_caps,
            ),
            (
                ReassemblyCap::TotalBuffer,
                st.total_buffer_caps - last.total_buffer_caps,
            ),
            (ReassemblyCap::Flows, st.flows_evicted - last.flows_evicted),
        ] {
            if count > 0 {
                self.reporter.emit(Event::ReassemblyCapHit { cap, count });
            }
        }
    }

    /// Handles what parsing produced for the current frame or tick.
    fn handle_pending(&mut self, now: Instant) {
        let mut pending = mem::take(&mut self.pending);
        for (key, event) in pending.drain(..) {
            match event {
                HttpEvent::Request(request) => self.on_request(&key, &request, now),
                HttpEvent::Response { request, response } => {
                    let client = key.client.ip();
                    let status = match response.head {
                        Head::Response { status } => status,
                        Head::Request(_) => 0,
                    };
                    self.reporter.emit(Event::ResponseSeen { client, status });
                    let findings = self
                        .inspector
                        .response(client, status, request.as_ref(), now);
                    for finding in findings {
                        let outcome = self
                            .decider
                            .decide(client, finding, now, &mut self.enforcer);
                        self.reporter.emit(Event::Detection {
                            flow: &key,
                            request: None,
                            finding,
                            outcome,
                            now,
                        });
                    }
                }
                HttpEvent::Error { direction, error } => {
                    self.reporter.emit(Event::ParseError);
                    tracing::debug!(client = %key.client, server = %key.server, ?direction, %error, "not parsing this flow direction any more");
                }
            }
        }
        // Keep the (empty) buffer for the next frame, unless handling added events.
        if self.pending.is_empty() {
            self.pending = pending;
        }
    }

    /// Inspect, decide and enforce, then report: the ban is in the kernel before its
    /// events are written.
    fn on_request(&mut self, key: &FlowKey, request: &Message, now: Instant) {
        let source = key.client.ip();
        self.reporter.emit(Event::RequestSeen { source });
        let inspected = self.inspector.request(request, source, now);
        let mut detection_written = false;
        for finding in inspected.findings {
            let outcome = self
                .decider
                .decide(source, finding, now, &mut self.enforcer);
            detection_written |= self.reporter.emit(Event::Detection {
                flow: key,
                request: Some(inspected.inspection),
                finding,
                outcome,
                now,
            });
        }
        self.reporter.emit(Event::Request {
            flow: key,
            request: inspected.inspection,
            rejected: !inspected.findings.is_empty(),
            detection_written,
        });
    }
}

/// The reassembler's callback: parses one flow's new stream bytes into `pending`.
fn parse(
    pending: &mut Vec<(FlowKey, HttpEvent)>,
    scratch: &mut Vec<HttpEvent>,
    key: &FlowKey,
    dir: Direction,
    event: StreamEvent<'_>,
    flow: &mut HttpFlow,
    limits: &Limits,
) {
    flow.on_stream(dir, event, limits, scratch);
    pending.extend(scratch.drain(..).map(|e| (*key, e)));
}
