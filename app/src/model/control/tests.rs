//! Tests of the control rules: the table of what each state allows, bluesky's words, the
//! dashboard's extra rules and the headlines.
use super::*;

fn at(manager: ManagerState, env: EnvState, running: bool) -> Situation {
    Situation {
        manager,
        env,
        re_state: env.exists().then(|| "idle".to_string()),
        running,
        stop_pending: false,
        pause_pending: false,
    }
}

/// Every action in every combination of states: what is allowed, by the table below.
#[test]
fn the_rules_table() {
    use Action::*;
    use EnvState as E;
    use ManagerState as M;
    let cases: &[(Situation, &[Action])] = &[
        (
            at(M::Idle, E::Closed, false),
            &[OpenEnvironment, CancelStopQueue],
        ),
        (
            at(M::Idle, E::Idle, false),
            &[
                CloseEnvironment,
                DestroyEnvironment,
                StartQueue,
                Execute,
                CancelStopQueue,
            ],
        ),
        (
            at(M::ExecutingQueue, E::ExecutingPlan, true),
            &[DestroyEnvironment, StopQueue, CancelStopQueue, Pause],
        ),
        (
            at(M::Paused, E::Idle, true),
            &[DestroyEnvironment, CancelStopQueue, Resume, EndPaused],
        ),
        (
            at(M::CreatingEnvironment, E::Initializing, false),
            &[DestroyEnvironment, CancelStopQueue],
        ),
    ];
    for (situation, allowed) in cases {
        for action in Action::ALL {
            assert_eq!(
                check(action, situation).is_ok(),
                allowed.contains(&action),
                "{action:?} in {situation:?}: {:?}",
                check(action, situation)
            );
        }
    }
}

#[test]
fn refusals_are_bluesky_words() {
    let closed = at(ManagerState::Idle, EnvState::Closed, false);
    assert_eq!(
        check(Action::StartQueue, &closed).unwrap_err(),
        "RE Worker environment does not exist."
    );
    assert_eq!(
        check(Action::Resume, &closed).unwrap_err(),
        "RE Manager is not paused: current state is 'idle'"
    );
    let running = at(ManagerState::ExecutingQueue, EnvState::ExecutingPlan, true);
    assert_eq!(
        check(Action::OpenEnvironment, &running).unwrap_err(),
        "RE Worker environment already exists."
    );
    assert_eq!(
        check(Action::CloseEnvironment, &running).unwrap_err(),
        "Queue execution is in progress."
    );
}

#[test]
fn the_dashboard_does_not_offer_what_changes_nothing() {
    let mut s = at(ManagerState::ExecutingQueue, EnvState::ExecutingPlan, true);
    assert!(offered(Action::StopQueue, &s).is_ok());
    assert!(offered(Action::CancelStopQueue, &s).is_err());
    s.stop_pending = true;
    assert!(offered(Action::StopQueue, &s).is_err());
    assert!(offered(Action::CancelStopQueue, &s).is_ok());
    assert!(
        check(Action::StopQueue, &s).is_ok(),
        "the server still accepts it"
    );
}

#[test]
fn headlines_say_what_a_scientist_needs() {
    let words = |s: &Situation, e| headline(s, e).text;
    assert_eq!(
        words(&at(ManagerState::Idle, EnvState::Closed, false), None),
        "Environment closed"
    );
    assert_eq!(
        words(&at(ManagerState::Idle, EnvState::Idle, false), None),
        "Ready"
    );
    let mut run = at(ManagerState::ExecutingQueue, EnvState::ExecutingPlan, true);
    assert_eq!(words(&run, Some(0)), "Starting: moving to the first point");
    assert_eq!(headline(&run, Some(3)).tone, Tone::Running);
    run.pause_pending = true;
    assert_eq!(headline(&run, Some(3)).tone, Tone::Paused);
    assert_eq!(
        words(&at(ManagerState::Paused, EnvState::Idle, true), Some(3)),
        "Paused at a checkpoint"
    );
}

#[test]
fn state_names_round_trip() {
    for m in ManagerState::ALL {
        assert_eq!(m.as_str().parse::<ManagerState>(), Ok(m));
    }
    for e in EnvState::ALL {
        assert_eq!(e.as_str().parse::<EnvState>(), Ok(e));
    }
    assert!("dancing".parse::<ManagerState>().is_err());
}
