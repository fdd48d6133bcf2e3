"""Every id the sandbox mints is new in every run, seeded or not (issue 29: the portal's database outlives a run)."""
import uuid

from nacl.signing import SigningKey

from sandbox.app import create_app
from sandbox.webhooks import Dispatcher
from sandbox.world import World


def mint_everything(world: World) -> dict[str, list[str]]:
    """One of each thing the sandbox gives an id to, with the webhooks they cause, by kind of id."""
    dispatcher = Dispatcher(world, SigningKey.generate(), None, pace=0.0)
    host, emits = world.call_start(from_number="+15550100001", to_number="+15550100002")
    guest, more = world.call_start(from_number="+15550100003", to_number="+15550100002")
    emits += more
    conference, more = world.conference_create({"call_control_id": host["call_control_id"], "name": "Room"})
    emits += more + world.conference_record_start(conference["id"], {"format": "mp3"})
    emits += world.conference_record_stop(conference["id"])
    emits += world.enqueue(guest["call_control_id"], {"queue_name": "support"})
    recording = next(iter(world.recordings.values()))
    transcription = world.transcription_save(recording["id"], "hello")
    documents = dispatcher.schedule(emits)
    calls = [host, guest]
    return {
        "event": [d["data"]["id"] for d in documents],
        "call_control": [c["call_control_id"] for c in calls],
        "leg": [c["call_leg_id"] for c in calls],
        "session": [c["call_session_id"] for c in calls],
        "conference": [conference["id"]],
        "recording": [recording["id"]],
        "transcription": [transcription["id"]],
        "queue": [world.queues["support"]["id"]],
        "queue_call": [world.queue_call_public(world.queues["support"], guest)["call_control_id"]],
    }


def test_a_repeated_seed_mints_no_id_of_the_first_run():
    first, second = mint_everything(World(seed=1)), mint_everything(World(seed=1))
    assert set(first) == set(second)
    for kind in first:
        assert first[kind] and len(first[kind]) == len(second[kind]), kind
        assert not set(first[kind]) & set(second[kind]), f"{kind} ids repeated across runs"


def test_ids_keep_telnyx_shapes_and_carry_the_run_part():
    world = World(seed=7)
    minted = mint_everything(world)
    for kind, ids in minted.items():
        for value in ids:
            if kind in ("call_control", "queue_call"):
                assert value.startswith(f"v3:{world.run_part}") and len(value) == 31, value
            else:
                assert uuid.UUID(value).version == 4 and value.endswith(world.run_part), value


def test_a_fixed_seed_and_run_part_repeat_exactly():
    """What tests that need byte-for-byte repeats can still ask for; the CLI never reuses a run part."""
    assert mint_everything(World(seed=3, run=42)) == mint_everything(World(seed=3, run=42))


def test_unseeded_runs_draw_a_fresh_seed_and_run_part():
    worlds = [create_app(key=SigningKey.generate(), webhook_url=None).state.world for _ in range(3)]
    assert len({w.seed for w in worlds}) == 3 and len({w.run for w in worlds}) == 3
    seeded = create_app(key=SigningKey.generate(), webhook_url=None, seed=5).state.world
    assert seeded.seed == 5


def test_serve_takes_a_fresh_seed_unless_one_is_given(monkeypatch, tmp_path):
    import sandbox.__main__ as cli

    served = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: served.append(app.state.world))
    key_file = str(tmp_path / "key")
    cli.main(["serve", "--key-file", key_file])
    cli.main(["serve", "--key-file", key_file])
    cli.main(["serve", "--key-file", key_file, "--seed", "9"])
    cli.main(["serve", "--key-file", key_file, "--seed", "9"])
    assert served[0].seed != served[1].seed
    assert (served[2].seed, served[3].seed) == (9, 9) and served[2].run != served[3].run
