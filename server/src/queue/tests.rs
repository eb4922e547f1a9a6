//! Table and property tests of the pure queue state machine.

use hutch_app::model::queue::{ExitStatus, ItemType, QueueItem};
use proptest::prelude::*;
use serde_json::json;

use super::edit::{prepare_item, Which};
use super::position::{Placement, Pos};
use super::state::{
    Change, Ctx, DispatchStatus, Effect, EnvState, ManagerState, PauseOption, PlanOutcome,
    QueueState,
};
use crate::worker::sim::catalog::catalog;

struct World {
    q: QueueState,
    next: u64,
    now: f64,
}

impl World {
    fn new() -> Self {
        World {
            q: QueueState::default(),
            next: 0,
            now: 1000.0,
        }
    }

    fn with<T>(&mut self, f: impl FnOnce(&mut QueueState, &mut Ctx) -> T) -> T {
        let next = &mut self.next;
        let mut gen = move || {
            *next += 1;
            format!("u{next}")
        };
        let mut ctx = Ctx {
            now: self.now,
            user: "ann",
            user_group: "primary",
            new_uid: &mut gen,
        };
        f(&mut self.q, &mut ctx)
    }

    fn plan(&mut self, name: &str, args: serde_json::Value) -> QueueItem {
        let item = QueueItem {
            name: name.into(),
            args: Some(args.as_array().unwrap().clone()),
            kwargs: Some(Default::default()),
            item_type: ItemType::Plan,
            user: "mallory".into(),
            user_group: "admin".into(),
            meta: None,
            item_uid: "client-chosen".into(),
            properties: None,
            result: None,
        };
        let cat = catalog();
        self.with(|_, ctx| prepare_item(&cat, item, ctx)).unwrap()
    }

    fn stop_instruction(&mut self) -> QueueItem {
        let item: QueueItem =
            serde_json::from_value(json!({"name": "queue_stop", "item_type": "instruction"}))
                .unwrap();
        let cat = catalog();
        self.with(|_, ctx| prepare_item(&cat, item, ctx)).unwrap()
    }

    fn add(&mut self, item: QueueItem, placement: Placement) -> String {
        let uid = item.item_uid.clone();
        self.with(|q, ctx| q.add(item, &placement, ctx)).unwrap();
        uid
    }

    fn add_count(&mut self) -> String {
        let item = self.plan("count", json!([["det1"]]));
        self.add(item, Placement::At(Pos::Back))
    }

    fn order(&self) -> Vec<&str> {
        self.q.items.iter().map(|i| i.item_uid.as_str()).collect()
    }

    fn open(&mut self) {
        self.q.open_environment().unwrap();
        self.with(|q, ctx| q.environment_opened(ctx));
        self.q.take_changes();
    }

    fn finish(&mut self, status: ExitStatus) {
        self.now += 1.0;
        let outcome = PlanOutcome {
            exit_status: status,
            msg: if status == ExitStatus::Failed {
                "Plan failed: boom".into()
            } else {
                String::new()
            },
            traceback: String::new(),
            run_uids: vec!["run1".into()],
            scan_ids: vec![1],
        };
        self.with(|q, ctx| q.plan_finished(&outcome, ctx));
    }
}

#[test]
fn items_are_stamped_by_the_server() {
    let mut w = World::new();
    let item = w.plan("count", json!([["det1"]]));
    assert_eq!(item.user, "ann");
    assert_eq!(item.user_group, "primary");
    assert_eq!(item.item_uid, "u1", "the client's uid is replaced");
}

#[test]
fn the_reference_editing_sequence_gives_the_same_orders() {
    let mut w = World::new();
    let a = w.add_count();
    let stop = w.stop_instruction();
    let s = w.add(stop, Placement::At(Pos::Back));
    let c = w.add_count();
    let item = w.plan("count", json!([["det1"]]));
    let front = w.add(item, Placement::At(Pos::Front));
    let item = w.plan("count", json!([["det2"]]));
    let one = w.add(item, Placement::At(Pos::Index(1)));
    let item = w.plan("count", json!([["det1"]]));
    let before_a = w.add(item, Placement::Before(a.clone()));
    assert_eq!(
        w.order(),
        [
            front.as_str(),
            one.as_str(),
            before_a.as_str(),
            a.as_str(),
            s.as_str(),
            c.as_str()
        ]
    );

    w.q.move_item(&Which::Uid(a.clone()), &Placement::At(Pos::Front))
        .unwrap();
    assert_eq!(
        w.order(),
        [
            a.as_str(),
            front.as_str(),
            one.as_str(),
            before_a.as_str(),
            s.as_str(),
            c.as_str()
        ]
    );
    w.q.move_item(&Which::At(Pos::Index(0)), &Placement::At(Pos::Back))
        .unwrap();
    assert_eq!(
        w.order(),
        [
            front.as_str(),
            one.as_str(),
            before_a.as_str(),
            s.as_str(),
            c.as_str(),
            a.as_str()
        ]
    );
    w.q.move_item(&Which::Uid(one.clone()), &Placement::Before(front.clone()))
        .unwrap();
    assert_eq!(
        w.order(),
        [
            one.as_str(),
            front.as_str(),
            before_a.as_str(),
            s.as_str(),
            c.as_str(),
            a.as_str()
        ]
    );
    w.q.move_item(&Which::Uid(one.clone()), &Placement::After(s.clone()))
        .unwrap();
    assert_eq!(
        w.order(),
        [
            front.as_str(),
            before_a.as_str(),
            s.as_str(),
            one.as_str(),
            c.as_str(),
            a.as_str()
        ]
    );
    w.q.move_batch(&[c.clone(), a.clone()], &Placement::At(Pos::Front), false)
        .unwrap();
    assert_eq!(
        w.order(),
        [
            c.as_str(),
            a.as_str(),
            front.as_str(),
            before_a.as_str(),
            s.as_str(),
            one.as_str()
        ]
    );
    w.q.move_batch(
        &[one.clone(), front.clone()],
        &Placement::After(s.clone()),
        true,
    )
    .unwrap();
    assert_eq!(
        w.order(),
        [
            c.as_str(),
            a.as_str(),
            before_a.as_str(),
            s.as_str(),
            front.as_str(),
            one.as_str()
        ],
        "reorder keeps queue order"
    );

    let removed = w.q.remove(&Which::At(Pos::Back)).unwrap();
    assert_eq!(removed.item_uid, one);
    let removed = w.q.remove_batch(&[c.clone(), "nope".into()], true).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(
        w.order(),
        [a.as_str(), before_a.as_str(), s.as_str(), front.as_str()]
    );
    let err = w.q.remove_batch(&["nope".into()], false).unwrap_err();
    assert_eq!(
        err,
        "The queue does not contain items with the following UIDs: ['nope']"
    );
}

#[test]
fn rejections_say_what_is_wrong_and_change_nothing() {
    let mut w = World::new();
    let a = w.add_count();
    w.q.take_changes();
    assert_eq!(
        w.q.get(&Which::Uid("x".into())).unwrap_err(),
        "Item with UID 'x' is not in the queue."
    );
    assert_eq!(
        w.q.get(&Which::At(Pos::Index(100))).unwrap_err(),
        "Index '100' is out of range (parameter pos = '100')"
    );
    assert_eq!(
        w.q.remove(&Which::Uid("x".into())).unwrap_err(),
        "Plan with UID 'x' is not in the queue."
    );
    let err =
        w.q.move_item(&Which::Uid("x".into()), &Placement::At(Pos::Front))
            .unwrap_err();
    assert!(
        err.starts_with("Source plan (UID 'x') was not found"),
        "{err}"
    );
    let item = w.plan("count", json!([["det1"]]));
    let err = w
        .with(|q, ctx| q.add(item, &Placement::Before("x".into()), ctx))
        .unwrap_err();
    assert_eq!(err, "Plan with UID 'x' is not in the queue.");
    let item = w.plan("count", json!([["det1"]]));
    assert!(w
        .q
        .update("x", item, false)
        .unwrap_err()
        .contains("is not in the queue"));
    assert_eq!(w.order(), [a.as_str()]);
    assert!(
        w.q.take_changes().0.is_empty(),
        "no change recorded for rejected operations"
    );
}

#[test]
fn update_keeps_or_replaces_the_uid() {
    let mut w = World::new();
    let a = w.add_count();
    let item = w.plan("count", json!([["det2"]]));
    w.q.update(&a, item, false).unwrap();
    assert_eq!(w.q.items[0].item_uid, a);
    assert_eq!(w.q.items[0].args(), &[json!(["det2"])]);
    let item = w.plan("count", json!([["det1"]]));
    let new_uid = item.item_uid.clone();
    w.q.update(&a, item, true).unwrap();
    assert_eq!(w.order(), [new_uid.as_str()]);
}

#[test]
fn a_queue_runs_to_the_stop_instruction_and_history_skips_instructions() {
    let mut w = World::new();
    w.open();
    let a = w.add_count();
    let stop = w.stop_instruction();
    w.add(stop, Placement::At(Pos::Back));
    let c = w.add_count();
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    assert_eq!(w.q.manager, ManagerState::ExecutingQueue);
    assert_eq!(w.q.running.as_ref().unwrap().item_uid, a);
    assert!(matches!(w.q.take_changes().1.as_slice(), [Effect::Run(item)] if item.item_uid == a));
    w.finish(ExitStatus::Completed);
    assert_eq!(
        w.q.manager,
        ManagerState::Idle,
        "queue_stop stopped the queue"
    );
    assert_eq!(w.order(), [c.as_str()]);
    assert_eq!(w.q.history.len(), 1);
    let result = w.q.history[0].result.as_ref().unwrap();
    assert_eq!(result.exit_status, ExitStatus::Completed);
    assert_eq!(result.time_start, 1000.0);
    assert_eq!(result.time_stop, 1001.0);
    assert_eq!(result.run_uids, ["run1"]);
}

#[test]
fn abort_halt_and_failure_put_a_copy_back_in_front_and_stop_the_queue() {
    for status in [ExitStatus::Aborted, ExitStatus::Halted, ExitStatus::Failed] {
        let mut w = World::new();
        w.open();
        let a = w.add_count();
        let b = w.add_count();
        w.with(|q, ctx| q.start_queue(ctx)).unwrap();
        w.finish(status);
        assert_eq!(w.q.manager, ManagerState::Idle, "{status:?}");
        assert_eq!(w.q.items.len(), 2);
        let back = &w.q.items[0];
        assert_ne!(back.item_uid, a, "the copy has a new uid");
        assert_eq!(
            back.result.as_ref().unwrap().exit_status,
            status,
            "the copy keeps its result"
        );
        assert_eq!(w.q.items[1].item_uid, b);
        assert_eq!(w.q.history[0].item_uid, a);
    }
}

#[test]
fn stop_removes_the_item_and_ignore_failures_continues() {
    let mut w = World::new();
    w.open();
    w.add_count();
    let b = w.add_count();
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.finish(ExitStatus::Stopped);
    assert_eq!(w.order(), [b.as_str()], "a stopped plan leaves the queue");
    assert_eq!(w.q.manager, ManagerState::Idle);

    let mut w = World::new();
    w.open();
    w.q.set_mode(hutch_app::model::status::QueueMode {
        loop_: false,
        ignore_failures: true,
    });
    w.add_count();
    let b = w.add_count();
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.finish(ExitStatus::Failed);
    assert_eq!(
        w.q.running.as_ref().unwrap().item_uid,
        b,
        "ignore_failures goes on"
    );
}

#[test]
fn loop_mode_requeues_completed_items() {
    let mut w = World::new();
    w.open();
    w.q.set_mode(hutch_app::model::status::QueueMode {
        loop_: true,
        ignore_failures: false,
    });
    let a = w.add_count();
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.finish(ExitStatus::Completed);
    let running = w.q.running.as_ref().expect("the copy runs next");
    assert_ne!(running.item_uid, a);
    assert_eq!(running.name, "count");
}

#[test]
fn queue_stop_takes_effect_after_the_current_plan() {
    let mut w = World::new();
    w.open();
    w.add_count();
    let b = w.add_count();
    assert!(w
        .q
        .stop_queue()
        .unwrap_err()
        .contains("Queue is not running. Manager state: MState.IDLE"));
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.q.stop_queue().unwrap();
    assert!(w.q.stop_pending);
    w.finish(ExitStatus::Completed);
    assert_eq!(w.q.manager, ManagerState::Idle);
    assert!(!w.q.stop_pending);
    assert_eq!(w.order(), [b.as_str()]);
}

#[test]
fn pause_resume_and_the_states_between() {
    let mut w = World::new();
    w.open();
    w.add_count();
    assert_eq!(
        w.q.resume().unwrap_err(),
        "RE Manager is not paused: current state is 'idle'"
    );
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.q.take_changes();
    w.q.pause(PauseOption::Deferred).unwrap();
    assert!(w.q.pause_pending);
    assert_eq!(w.q.take_changes().1, [Effect::Pause(PauseOption::Deferred)]);
    w.q.paused();
    assert_eq!(w.q.manager, ManagerState::Paused);
    assert_eq!(w.q.re_state, Some("paused"));
    let paused = |changes: &[Change]| {
        changes
            .iter()
            .filter(|c| matches!(c, Change::Dispatch(DispatchStatus::Paused)))
            .count()
    };
    assert_eq!(paused(&w.q.take_changes().0), 1);
    // A second report of the same pause changes nothing: the status log records it once.
    w.q.paused();
    assert_eq!(paused(&w.q.take_changes().0), 0);
    assert!(w
        .with(|q, ctx| q.start_queue(ctx))
        .unwrap_err()
        .contains("busy"));
    assert_eq!(
        w.q.close_environment().unwrap_err(),
        "Manager state is not idle. Current state: paused"
    );
    w.q.resume().unwrap();
    assert_eq!(w.q.manager, ManagerState::ExecutingQueue);
    assert_eq!(w.q.take_changes().1, [Effect::Resume]);
}

#[test]
fn a_dead_worker_fails_the_running_item_and_closes_the_environment() {
    let mut w = World::new();
    w.open();
    let a = w.add_count();
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    w.with(|q, ctx| {
        q.environment_gone(
            Some("RE Worker process exited unexpectedly (signal 9)"),
            ctx,
        )
    });
    assert_eq!(w.q.env, EnvState::Closed);
    assert_eq!(w.q.manager, ManagerState::Idle);
    assert!(w.q.running.is_none());
    let result = w.q.history[0].result.as_ref().unwrap();
    assert_eq!(result.exit_status, ExitStatus::Failed);
    assert!(result.msg.contains("signal 9"));
    assert_eq!(w.q.items.len(), 1, "the item is back in front");
    assert_ne!(w.q.items[0].item_uid, a);
    w.q.open_environment()
        .expect("a new environment can be opened");
}

#[test]
fn environment_rules() {
    let mut w = World::new();
    assert_eq!(
        w.q.close_environment().unwrap_err(),
        "RE Worker environment does not exist."
    );
    assert_eq!(
        w.q.destroy_environment().unwrap_err(),
        "RE environment does not exist"
    );
    assert!(w
        .with(|q, ctx| q.start_queue(ctx))
        .unwrap_err()
        .contains("does not exist"));
    w.q.open_environment().unwrap();
    assert!(w
        .q
        .open_environment()
        .unwrap_err()
        .contains("already in the process of creating"));
    w.with(|q, ctx| q.environment_opened(ctx));
    assert_eq!(
        w.q.open_environment().unwrap_err(),
        "RE Worker environment already exists."
    );
    w.q.close_environment().unwrap();
    assert_eq!(w.q.manager, ManagerState::ClosingEnvironment);
}

#[test]
fn autostart_runs_what_is_added() {
    let mut w = World::new();
    w.open();
    w.with(|q, ctx| q.set_autostart(true, ctx));
    let a = w.add_count();
    assert_eq!(w.q.running.as_ref().unwrap().item_uid, a);
    w.finish(ExitStatus::Completed);
    assert_eq!(w.q.manager, ManagerState::Idle);
    assert!(w.q.autostart, "autostart stays on after the queue empties");
    let b = w.add_count();
    assert_eq!(w.q.running.as_ref().unwrap().item_uid, b);
}

#[test]
fn immediate_execution_leaves_the_queue_alone() {
    let mut w = World::new();
    w.open();
    let a = w.add_count();
    let item = w.plan("count", json!([["det2"]]));
    let uid = item.item_uid.clone();
    w.with(|q, ctx| q.execute(item, ctx)).unwrap();
    assert_eq!(w.q.running.as_ref().unwrap().item_uid, uid);
    w.finish(ExitStatus::Failed);
    assert_eq!(
        w.order(),
        [a.as_str()],
        "never pushed back, queue not started"
    );
    assert_eq!(w.q.manager, ManagerState::Idle);
    assert_eq!(w.q.history[0].item_uid, uid);
}

#[test]
fn locks_guard_queue_and_environment() {
    let mut w = World::new();
    w.with(|q, ctx| q.lock("k1", true, true, Some("beamtime".into()), ctx))
        .unwrap();
    let err =
        w.q.check_lock(super::state::Guard::Queue, None)
            .unwrap_err();
    assert!(
        err.starts_with("Invalid lock key: \nRE Manager is locked by ann at "),
        "{err}"
    );
    assert!(err.contains("Environment is locked: True\nQueue is locked:       True\nEmergency lock key:    not set\nNote: beamtime"));
    w.q.check_lock(super::state::Guard::Queue, Some("k1"))
        .unwrap();
    assert!(w
        .with(|q, ctx| q.lock("k2", true, false, None, ctx))
        .unwrap_err()
        .contains("different key"));
    w.q.emergency_key = Some("sos".into());
    assert!(w.q.unlock("wrong").is_err());
    w.q.unlock("sos").unwrap();
    assert!(w.q.lock.is_none());
}

#[test]
fn history_clear_forms() {
    let mut w = World::new();
    w.open();
    for _ in 0..5 {
        w.add_count();
    }
    w.with(|q, ctx| q.start_queue(ctx)).unwrap();
    for _ in 0..5 {
        w.finish(ExitStatus::Completed);
    }
    assert_eq!(w.q.history.len(), 5);
    w.q.clear_history(Some(3), None).unwrap();
    assert_eq!(w.q.history.len(), 3);
    let second = w.q.history[1].item_uid.clone();
    w.q.clear_history(None, Some(&second)).unwrap();
    assert_eq!(w.q.history.len(), 1);
    assert!(w.q.clear_history(Some(1), Some("x")).is_err());
    w.q.clear_history(None, None).unwrap();
    assert!(w.q.history.is_empty());
}

fn replay(order: &mut Vec<String>, changes: &[Change]) {
    for change in changes {
        match change {
            Change::QueueInsert { index, item } => order.insert(*index, item.item_uid.clone()),
            Change::QueueRemove { uid } => order.retain(|u| u != uid),
            Change::QueueMove { uid, index } => {
                order.retain(|u| u != uid);
                order.insert(*index, uid.clone());
            }
            Change::QueueReplace { uid, item } => {
                if let Some(u) = order.iter_mut().find(|u| *u == uid) {
                    *u = item.item_uid.clone();
                }
            }
            Change::QueueClear => order.clear(),
            _ => {}
        }
    }
}

/// One step of the property test; indexes pick among the uids present at that moment.
#[derive(Clone, Debug)]
enum Op {
    Add,
    AddStop(i64),
    Remove(usize),
    Move(usize, i64),
    MoveBatch(usize, usize, bool),
    Open,
    Start,
    Finish(usize),
    Pause,
    Resume,
    StopQueue,
    Gone,
    ClearHistory,
    Update(usize, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let pos = || -4i64..=4;
    prop_oneof![
        2 => Just(Op::Add),
        1 => pos().prop_map(Op::AddStop),
        1 => any::<usize>().prop_map(Op::Remove),
        1 => (any::<usize>(), pos()).prop_map(|(u, p)| Op::Move(u, p)),
        1 => (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(a, b, reorder)| Op::MoveBatch(a, b, reorder)),
        1 => Just(Op::Open),
        1 => Just(Op::Start),
        2 => (0usize..4).prop_map(Op::Finish),
        1 => Just(Op::Pause),
        1 => Just(Op::Resume),
        1 => Just(Op::StopQueue),
        1 => Just(Op::Gone),
        1 => Just(Op::ClearHistory),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(u, replace)| Op::Update(u, replace)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Any sequence of commands and worker reports keeps the queue's invariants, and the change
    /// log replays to the queue (proptest shrinks a failure to its shortest sequence).
    #[test]
    fn any_command_sequence_keeps_the_invariants(ops in proptest::collection::vec(op(), 0..150)) {
        check_sequence(&ops);
    }
}

fn check_sequence(ops: &[Op]) {
    let mut w = World::new();
    let mut history_len = 0;
    let mut mirror: Vec<String> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let uids: Vec<String> = w.order().into_iter().map(String::from).collect();
        let pick = |i: usize| {
            uids.get(i % uids.len().max(1))
                .cloned()
                .unwrap_or_else(|| "none".into())
        };
        let at = |p: i64| Placement::At(Pos::Index(p));
        let mut cleared = false;
        match op.clone() {
            Op::Add => {
                w.add_count();
            }
            Op::AddStop(p) => {
                let item = w.stop_instruction();
                let _ = w.with(|q, ctx| q.add(item, &at(p), ctx));
            }
            Op::Remove(u) => {
                let _ = w.q.remove(&Which::Uid(pick(u)));
            }
            Op::Move(u, p) => {
                let _ = w.q.move_item(&Which::Uid(pick(u)), &at(p));
            }
            Op::MoveBatch(a, b, reorder) => {
                let _ =
                    w.q.move_batch(&[pick(a)], &Placement::After(pick(b)), reorder);
            }
            Op::Open => {
                let _ = w.q.open_environment();
                w.with(|q, ctx| q.environment_opened(ctx));
            }
            Op::Start => {
                let _ = w.with(|q, ctx| q.start_queue(ctx));
            }
            Op::Finish(i) => {
                let status = [
                    ExitStatus::Completed,
                    ExitStatus::Failed,
                    ExitStatus::Aborted,
                    ExitStatus::Stopped,
                ][i];
                w.finish(status);
            }
            Op::Pause => {
                let _ = w.q.pause(PauseOption::Immediate);
                w.q.paused();
            }
            Op::Resume => {
                let _ = w.q.resume();
            }
            Op::StopQueue => {
                let _ = w.q.stop_queue();
            }
            Op::Gone => {
                w.with(|q, ctx| q.environment_gone(Some("crash"), ctx));
            }
            Op::ClearHistory => {
                w.q.clear_history(None, None).unwrap();
                cleared = true;
            }
            Op::Update(u, replace) => {
                let item = w.plan("count", json!([["det2"]]));
                let _ = w.q.update(&pick(u), item, replace);
            }
        }
        let (changes, _) = w.q.take_changes();
        // Invariants.
        let mut all: Vec<&str> = w.q.items.iter().map(|i| i.item_uid.as_str()).collect();
        if let Some(running) = &w.q.running {
            assert!(
                !all.contains(&running.item_uid.as_str()),
                "step {step} ({op:?}): running item also queued"
            );
            all.push(&running.item_uid);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "step {step} ({op:?}): duplicate uids");
        assert!(
            cleared || w.q.history.len() >= history_len,
            "step {step} ({op:?}): history shrank"
        );
        history_len = w.q.history.len();
        assert_eq!(
            w.q.running.is_some(),
            matches!(w.q.env, EnvState::ExecutingPlan) || w.q.manager == ManagerState::Paused,
            "step {step} ({op:?}): running item iff executing or paused ({:?}, {:?})",
            w.q.env,
            w.q.manager
        );
        assert!(w
            .q
            .history
            .iter()
            .all(|h| h.item_type == ItemType::Plan && h.result.is_some()));
        // Replaying the recorded changes on the old order gives the new order: the database
        // and the stream are kept up to date from exactly these changes.
        replay(&mut mirror, &changes);
        assert_eq!(
            mirror,
            w.order(),
            "step {step} ({op:?}): change log diverged"
        );
    }
}
