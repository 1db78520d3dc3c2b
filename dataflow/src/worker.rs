//! The synchronous driver: runs the timely workers on their own threads and answers each
//! input batch with the epoch's consolidated `OutputBatch`.
//!
//! Worker 0 owns the input sessions and is the only one fed; every other worker closes its
//! inputs at once, so the input frontier is worker 0's alone. All outputs are exchanged to
//! worker 0, which reads them once the probe has passed the epoch. The same code runs one
//! worker, several threads, or a cluster of processes (`Config::Cluster`): only process 0
//! has a driver; the others run `run_follower` and serve their share of the computation.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use timely::dataflow::ProbeHandle;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::{CommunicationConfig, WorkerConfig};

use crate::input::{InputEvent, InputState, Record};
use crate::ir::{Resource, StatusIr, StatusKey};
use crate::output::OutputBatch;
use crate::render::{self, RenderConfig};
use crate::sessions::Sessions;

/// How to run the timely computation.
#[derive(Clone, Debug)]
pub enum Topology {
    /// `n` worker threads in this process.
    Process(usize),
    /// `threads` workers in each of several processes; this is process `process`.
    Cluster {
        threads: usize,
        process: usize,
        addresses: Vec<String>,
    },
}

impl Topology {
    fn timely_config(&self) -> timely::Config {
        let communication = match self {
            Topology::Process(1) => CommunicationConfig::Thread,
            Topology::Process(n) => CommunicationConfig::Process(*n),
            Topology::Cluster {
                threads,
                process,
                addresses,
            } => CommunicationConfig::Cluster {
                threads: *threads,
                process: *process,
                addresses: addresses.clone(),
                report: false,
                zerocopy: false,
            },
        };
        timely::Config {
            communication,
            worker: WorkerConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start timely workers: {0}")]
    Start(String),
    #[error("the dataflow worker stopped")]
    Stopped,
}

type Changes = Vec<(Record, isize)>;

/// A running dataflow. `apply` is synchronous: it returns when the epoch is complete.
pub struct Engine {
    state: InputState,
    commands: Option<Sender<Changes>>,
    outputs: Receiver<OutputBatch>,
    guards: Option<timely::communication::initialize::WorkerGuards<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("objects", &self.state.len())
            .finish()
    }
}

impl Engine {
    /// Starts the workers (for a cluster: process 0's).
    pub fn start(topology: Topology, config: RenderConfig) -> Result<Engine, EngineError> {
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded::<Changes>();
        let (out_tx, out_rx) = crossbeam_channel::unbounded::<OutputBatch>();
        let driver = Arc::new(Mutex::new(Some((cmd_rx, out_tx))));
        let guards = timely::execute(topology.timely_config(), move |worker| {
            let channels = if worker.index() == 0 {
                driver.lock().expect("driver lock").take()
            } else {
                None
            };
            run_worker(worker, &config, channels);
        })
        .map_err(EngineError::Start)?;
        Ok(Engine {
            state: InputState::default(),
            commands: Some(cmd_tx),
            outputs: out_rx,
            guards: Some(guards),
        })
    }

    /// Applies one batch of events as one epoch and returns what changed.
    pub fn apply(&mut self, events: Vec<InputEvent>) -> Result<OutputBatch, EngineError> {
        let changes = self.state.apply(events);
        self.commands
            .as_ref()
            .ok_or(EngineError::Stopped)?
            .send(changes)
            .map_err(|_| EngineError::Stopped)?;
        self.outputs.recv().map_err(|_| EngineError::Stopped)
    }

    /// The current input state (every object's latest record).
    pub fn state(&self) -> &InputState {
        &self.state
    }

    /// Closes the inputs and joins the workers.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.commands.take();
        if let Some(guards) = self.guards.take() {
            drop(guards.join());
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the workers of a non-zero process of a cluster until process 0 shuts down.
pub fn run_follower(topology: Topology, config: RenderConfig) -> Result<(), EngineError> {
    let guards = timely::execute(topology.timely_config(), move |worker| {
        run_worker(worker, &config, None)
    })
    .map_err(EngineError::Start)?;
    drop(guards.join());
    Ok(())
}

type ResourceBuf = Rc<RefCell<Vec<(Resource, isize)>>>;
type StatusBuf = Rc<RefCell<Vec<((StatusKey, Arc<StatusIr>), isize)>>>;

fn run_worker(
    worker: &mut timely::worker::Worker,
    config: &RenderConfig,
    driver: Option<(Receiver<Changes>, Sender<OutputBatch>)>,
) {
    let mut sessions = Sessions::new();
    let probe = ProbeHandle::new();
    let resources: ResourceBuf = Rc::default();
    let statuses: StatusBuf = Rc::default();
    worker.dataflow::<u64, _, _>(|scope| {
        let inputs = sessions.collections(scope);
        let out = render::render(scope, inputs, config);
        let (r, s) = (resources.clone(), statuses.clone());
        out.resources
            .inner
            .exchange(|_| 0)
            .inspect(move |(x, _, d)| r.borrow_mut().push((x.clone(), *d)))
            .probe_with(&probe);
        out.statuses
            .inner
            .exchange(|_| 0)
            .inspect(move |(x, _, d)| s.borrow_mut().push((x.clone(), *d)))
            .probe_with(&probe);
    });

    let Some((commands, outputs)) = driver else {
        drop(sessions); // closes this worker's inputs: worker 0 alone drives time
        while worker.step_or_park(None) {}
        return;
    };
    let mut epoch = 0u64;
    while let Ok(changes) = commands.recv() {
        for (record, diff) in changes {
            sessions.update(record, diff);
        }
        epoch += 1;
        sessions.advance_and_flush(epoch);
        worker.step_while(|| probe.less_than(&epoch));
        let mut res = std::mem::take(&mut *resources.borrow_mut());
        let mut st = std::mem::take(&mut *statuses.borrow_mut());
        differential_dataflow::consolidation::consolidate(&mut res);
        differential_dataflow::consolidation::consolidate(&mut st);
        if outputs
            .send(OutputBatch::from_changes(epoch - 1, res, st))
            .is_err()
        {
            break;
        }
    }
    drop(sessions);
    while worker.step_or_park(None) {}
}
