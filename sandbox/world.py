"""The simulated account: calls, conferences, queues, recordings; every command returns its webhooks."""
from __future__ import annotations

import random
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sandbox.wire import Emit, NotFound, Unprocessable, fresh_seed, now, parse_stamp, stamp

# Telnyx's recording links are valid for 10 minutes (events.md); the sandbox's expire the same way.
RECORDING_LINK_SECONDS = 600
# "Returns the status of a call (data is available 10 minutes after call ended)": the SDK's calls.retrieve_status.
CALL_STATUS_SECONDS = 600
# Bits of every id that belong to the run rather than to the seed (a UUID's last group).
RUN_BITS = 48


@dataclass
class World:
    """All state, guarded by one lock.

    Every id mixes the seeded generator (a seeded run repeats its traffic) with `run`, a part drawn
    afresh for each run: the portal's database outlives a sandbox run, and a second run minting the
    first run's ids had its webhooks taken as redeliveries and its conferences merged into old ones
    (issue 29). `seed` None draws a fresh seed; `run` None a fresh run part (tests may fix both).
    """

    seed: int | None = None
    run: int | None = None
    media_base_url: str = "http://127.0.0.1:8790"
    connection_id: str = "sandbox-connection"
    calls: dict = field(default_factory=dict)
    conferences: dict = field(default_factory=dict)
    queues: dict = field(default_factory=dict)
    recordings: dict = field(default_factory=dict)
    transcriptions: dict = field(default_factory=dict)
    seen_commands: set = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        if self.seed is None:
            self.seed = fresh_seed()
        if self.run is None:
            self.run = secrets.randbits(RUN_BITS)
        self.rng = random.Random(self.seed)

    # --- ids -----------------------------------------------------------------
    @property
    def run_part(self) -> str:
        """The run's part of every id, as 12 hex digits (a UUID's last group)."""
        return f"{self.run:012x}"

    def new_id(self) -> str:
        """A version-4 UUID: the seeded generator's bits, with the run part as its last 48 bits."""
        drawn = self.rng.getrandbits(128 - RUN_BITS) << RUN_BITS
        return str(uuid.UUID(int=drawn | self.run, version=4))

    def new_call_control_id(self) -> str:
        """Telnyx's "v3:" form: the run part, then 16 hex digits from the seeded generator."""
        return f"v3:{self.run_part}{self.rng.getrandbits(64):016x}"

    # --- command_id ----------------------------------------------------------
    def is_repeat(self, target: str, command_id: str | None) -> bool:
        """Telnyx ignores a command whose command_id it has seen for the same call or conference."""
        if not command_id:
            return False
        key = (target, command_id)
        if key in self.seen_commands:
            return True
        self.seen_commands.add(key)
        return False

    # --- calls ---------------------------------------------------------------
    def call(self, call_control_id: str, *, alive: bool = True) -> dict:
        call = self.calls.get(call_control_id)
        if call is None:
            raise NotFound("Call", call_control_id)
        if alive and call["state"] == "hangup":
            raise Unprocessable("call_control_id", "Call has already ended")
        return call

    def call_status(self, call_control_id: str) -> dict:
        """GET /calls/{id}: a live or recently ended leg; Telnyx forgets a leg 10 minutes after it ended."""
        call = self.calls.get(call_control_id)
        ended = call and call.get("end_time")
        if call is None or (ended and now() - parse_stamp(ended) > timedelta(seconds=CALL_STATUS_SECONDS)):
            raise NotFound("Call", call_control_id)
        started = parse_stamp(call["start_time"])
        return {
            "record_type": "call", "call_control_id": call_control_id, "call_leg_id": call["call_leg_id"],
            "call_session_id": call["call_session_id"], "client_state": call.get("client_state"),
            "is_alive": not ended, "start_time": call["start_time"], "end_time": ended or None,
            "call_duration": int(((parse_stamp(ended) if ended else now()) - started).total_seconds()),
        }

    def call_payload(self, call: dict, **extra) -> dict:
        return {
            "call_control_id": call["call_control_id"], "call_leg_id": call["call_leg_id"],
            "call_session_id": call["call_session_id"], "connection_id": self.connection_id,
            "client_state": call.get("client_state"), "from": call["from"], "to": call["to"], **extra,
        }

    def call_start(self, *, from_number: str, to_number: str, direction: str = "incoming") -> tuple[dict, list[Emit]]:
        """A new inbound call that rings and is answered."""
        call_control_id = self.new_call_control_id()
        call = {
            "call_control_id": call_control_id, "call_leg_id": self.new_id(), "call_session_id": self.new_id(),
            "from": from_number, "to": to_number, "direction": direction, "state": "parked", "client_state": None,
            "start_time": stamp(), "queue": None, "conference": None, "recording": None,
        }
        self.calls[call_control_id] = call
        return call, [
            Emit("call.initiated", self.call_payload(call, direction=direction, state="parked", start_time=call["start_time"])),
            Emit("call.answered", self.call_payload(call, state="answered", start_time=call["start_time"]), 0.5),
        ]

    def call_hangup(self, call_control_id: str, cause: str = "normal_clearing") -> list[Emit]:
        call = self.calls.get(call_control_id)
        if call is None or call["state"] == "hangup":
            return []
        emits = []
        if call["queue"] and not call.get("keep_after_hangup"):
            # keep_after_hangup: the dead call stays in line (is_alive false) until removed or bridged.
            emits += self.dequeue(call, reason="hangup")
        if call["conference"]:
            emits += self.participant_leave(call["conference"], call_control_id)
        call["state"] = "hangup"
        call["end_time"] = stamp()
        emits.append(Emit("call.hangup", self.call_payload(call, hangup_cause=cause, hangup_source="caller",
                                                            state="hangup", start_time=call["start_time"])))
        return emits + self.hangup_related(call)

    def hangup_related(self, call: dict) -> list[Emit]:
        """Legs that end with this one (issue 28): those supervising it, and the leg it is bridged with."""
        related = [c["call_control_id"] for c in self.calls.values() if c.get("supervising") == call["call_control_id"]]
        if call.get("bridged_with"):
            related.append(call["bridged_with"])
        emits = []
        for call_control_id in related:
            emits += self.call_hangup(call_control_id)
        return emits

    def call_bridge(self, call_control_id: str) -> list[Emit]:
        call = self.call(call_control_id)
        emits = self.dequeue(call, reason="bridged") if call["queue"] else []
        call["state"] = "bridged"
        return emits + [Emit("call.bridged", self.call_payload(call))]

    # --- conferences ---------------------------------------------------------
    def conference(self, conference_id: str) -> dict:
        conference = self.conferences.get(conference_id)
        if conference is None:
            raise NotFound("Conference", conference_id)
        return conference

    def conference_public(self, conference: dict) -> dict:
        return {k: v for k, v in conference.items() if k not in ("participants", "recording_state")}

    def conference_create(self, body: dict) -> tuple[dict, list[Emit]]:
        call = self.call(body["call_control_id"])
        created = now()
        conference = {
            "id": self.new_id(), "record_type": "conference", "name": body["name"], "status": "in_progress",
            "region": body.get("region", "US"), "connection_id": self.connection_id, "created_at": stamp(created),
            "updated_at": stamp(created), "expires_at": stamp(created + timedelta(minutes=body.get("duration_minutes", 240))),
            "end_reason": None, "participants": {}, "recording_state": None,
        }
        self.conferences[conference["id"]] = conference
        emits = [Emit("conference.created", {**self.call_payload(call), "conference_id": conference["id"]}, 0.1)]
        emits += self.participant_join(conference["id"], {"call_control_id": call["call_control_id"],
                                                          "beep_enabled": body.get("beep_enabled")})
        return self.conference_public(conference), emits

    def participant_join(self, conference_id: str, body: dict) -> list[Emit]:
        conference = self.conference(conference_id)
        if conference["status"] == "completed":
            raise Unprocessable("id", "Conference has already ended")
        call = self.call(body["call_control_id"])
        if call["queue"]:
            self.dequeue(call, reason="bridged")
        created = stamp()
        conference["participants"][call["call_control_id"]] = {
            "id": call["call_control_id"], "record_type": "participant", "call_control_id": call["call_control_id"],
            "call_leg_id": call["call_leg_id"], "conference": {"id": conference_id, "name": conference["name"]},
            "created_at": created, "updated_at": created, "status": "joined", "muted": bool(body.get("mute")),
            "on_hold": bool(body.get("hold")), "supervisor_role": body.get("supervisor_role", "none"),
            "whisper_call_control_ids": body.get("whisper_call_control_ids", []),
            "end_conference_on_exit": bool(body.get("end_conference_on_exit")),
            "soft_end_conference_on_exit": bool(body.get("soft_end_conference_on_exit")),
        }
        call["conference"] = conference_id
        return [Emit("conference.participant.joined", {**self.call_payload(call), "conference_id": conference_id}, 0.2)]

    def participant_leave(self, conference_id: str, call_control_id: str) -> list[Emit]:
        conference = self.conference(conference_id)
        participant = conference["participants"].get(call_control_id)
        if participant is None or participant["status"] == "left":
            raise Unprocessable("call_control_id", "Call is not a participant of this conference")
        participant["status"] = "left"
        participant["updated_at"] = stamp()
        call = self.calls.get(call_control_id)
        if call:
            call["conference"] = None
        emits = [Emit("conference.participant.left", {**self.call_payload(call), "conference_id": conference_id}, 0.2)]
        present = [p for p in conference["participants"].values() if p["status"] != "left"]
        if participant["end_conference_on_exit"] or not present:
            emits += self.conference_end(conference_id, reason="host_left" if present else "all_left")
        return emits

    def conference_end(self, conference_id: str, reason: str = "ended_via_api") -> list[Emit]:
        conference = self.conference(conference_id)
        if conference["status"] == "completed":
            return []
        emits = []
        for call_control_id, participant in conference["participants"].items():
            if participant["status"] != "left":
                participant["status"] = "left"
                call = self.calls.get(call_control_id)
                if call:
                    call["conference"] = None
                    emits.append(Emit("conference.participant.left", {**self.call_payload(call), "conference_id": conference_id}, 0.2))
        if conference["recording_state"]:
            emits += self.conference_record_stop(conference_id)
        conference["status"] = "completed"
        conference["end_reason"] = reason
        conference["updated_at"] = stamp()
        emits.append(Emit("conference.ended", {"conference_id": conference_id, "connection_id": self.connection_id,
                                               "reason": reason, "occurred_at": stamp()}, 0.4))
        return emits

    def participants_set(self, conference_id: str, call_control_ids: list | None, **changes) -> list[dict]:
        conference = self.conference(conference_id)
        chosen = [p for p in conference["participants"].values() if p["status"] != "left"
                  and (not call_control_ids or p["call_control_id"] in call_control_ids)]
        for participant in chosen:
            participant.update(changes, updated_at=stamp())
        return chosen

    def conference_media(self, conference_id: str, kind: str, body: dict) -> list[Emit]:
        """play / speak to the conference, or to chosen participants: started then ended events."""
        conference = self.conference(conference_id)
        targets = body.get("call_control_ids") or []
        media = {"media_name": body.get("media_name"), "media_url": body.get("audio_url")} if kind == "playback" else {}
        base = {"conference_id": conference_id, "connection_id": self.connection_id, "creator_call_session_id": None, **media}
        if not targets:
            return [Emit(f"conference.{kind}.started", {**base, "occurred_at": stamp()}, 0.1),
                    Emit(f"conference.{kind}.ended", {**base, "occurred_at": stamp()}, 2.0)]
        emits = []
        for call_control_id in targets:
            call = self.calls.get(call_control_id)
            if call is None or call_control_id not in conference["participants"]:
                raise Unprocessable("call_control_ids", f"{call_control_id} is not a participant of this conference")
            payload = {**self.call_payload(call), **base}
            emits += [Emit(f"conference.participant.{kind}.started", payload, 0.1),
                      Emit(f"conference.participant.{kind}.ended", payload, 2.0)]
        return emits

    def conference_record_start(self, conference_id: str, body: dict) -> list[Emit]:
        conference = self.conference(conference_id)
        if conference["recording_state"]:
            raise Unprocessable("id", "Conference is already being recorded")
        conference["recording_state"] = {"id": self.new_id(), "started_at": stamp(), "format": body["format"],
                                         "channels": body.get("channels", "single"), "paused": False}
        return []

    def conference_record_stop(self, conference_id: str) -> list[Emit]:
        conference = self.conference(conference_id)
        state = conference["recording_state"]
        if not state:
            raise Unprocessable("id", "Conference is not being recorded")
        conference["recording_state"] = None
        recording = self.recording_save(source="conference", conference_id=conference_id, **state)
        urls = recording["download_urls"]
        return [Emit("conference.recording.saved", {
            "conference_id": conference_id, "connection_id": self.connection_id, "call_control_id": None,
            "call_session_id": None, "channels": state["channels"], "format": state["format"], "recording_id": recording["id"],
            "recording_started_at": recording["recording_started_at"], "recording_ended_at": recording["recording_ended_at"],
            "recording_urls": urls, "public_recording_urls": urls,
        }, 0.5)]

    # --- queues --------------------------------------------------------------
    def queue(self, name: str) -> dict:
        queue = self.queues.get(name)
        if queue is None:
            raise NotFound("Queue", name)
        return queue

    def queue_create(self, name: str, max_size: int = 100) -> dict:
        if name in self.queues:
            raise Unprocessable("queue_name", "A queue with this name already exists", code="10015")
        created = stamp()
        self.queues[name] = {"id": self.new_id(), "record_type": "queue", "name": name, "max_size": max_size,
                             "created_at": created, "updated_at": created, "calls": [], "waits": []}
        return self.queue_public(self.queues[name])

    def queue_public(self, queue: dict) -> dict:
        waits = queue["waits"][-50:]
        return {"id": queue["id"], "record_type": "queue", "name": queue["name"], "max_size": queue["max_size"],
                "current_size": len(queue["calls"]), "average_wait_time_secs": int(sum(waits) / len(waits)) if waits else 0,
                "created_at": queue["created_at"], "updated_at": queue["updated_at"]}

    def queue_call_public(self, queue: dict, call: dict) -> dict:
        return {"record_type": "queue_call", "call_control_id": call["call_control_id"], "call_leg_id": call["call_leg_id"],
                "call_session_id": call["call_session_id"], "connection_id": self.connection_id, "from": call["from"],
                "to": call["to"], "enqueued_at": call["enqueued_at"], "queue_id": queue["id"], "is_alive": call["state"] != "hangup",
                "queue_position": queue["calls"].index(call["call_control_id"]) + 1,
                "wait_time_secs": int((now() - datetime.fromisoformat(call["enqueued_at"].replace("Z", "+00:00"))).total_seconds())}

    def enqueue(self, call_control_id: str, body: dict) -> list[Emit]:
        call = self.call(call_control_id)
        name = body["queue_name"]
        queue = self.queues.get(name) or self.queues.get(self.queue_create(name, body.get("max_size", 100))["name"])
        if call["queue"]:
            raise Unprocessable("call_control_id", "Call is already in a queue")
        if len(queue["calls"]) >= queue["max_size"]:
            raise Unprocessable("queue_name", "Queue is full", code="90040")
        queue["calls"].append(call_control_id)
        call["queue"] = name
        call["enqueued_at"] = stamp()
        call["keep_after_hangup"] = bool(body.get("keep_after_hangup"))
        public = self.queue_public(queue)
        return [Emit("call.enqueued", self.call_payload(call, queue=name, current_position=len(queue["calls"]),
                                                        queue_avg_wait_time_secs=public["average_wait_time_secs"]), 0.1)]

    def dequeue(self, call: dict, reason: str) -> list[Emit]:
        queue = self.queues.get(call["queue"])
        if queue is None or call["call_control_id"] not in queue["calls"]:
            call["queue"] = None
            return []
        position = queue["calls"].index(call["call_control_id"]) + 1
        queue["calls"].remove(call["call_control_id"])
        waited = int((now() - datetime.fromisoformat(call["enqueued_at"].replace("Z", "+00:00"))).total_seconds())
        queue["waits"].append(waited)
        call["queue"] = None
        return [Emit("call.dequeued", self.call_payload(call, queue=queue["name"], queue_position=position,
                                                        reason=reason, wait_time_secs=waited), 0.1)]

    # --- recordings ----------------------------------------------------------
    def recording_save(self, *, source: str, started_at: str, format: str, channels: str, id: str | None = None,
                       conference_id: str | None = None, call: dict | None = None, **_) -> dict:
        recording_id = id or self.new_id()
        ended = now()
        started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        url = self.signed_link(f"{self.media_base_url}/v2/_media/recordings/{recording_id}.{format}")
        recording = {
            "id": recording_id, "record_type": "recording", "source": source, "status": "completed",
            "conference_id": conference_id, "call_control_id": call["call_control_id"] if call else None,
            "call_leg_id": call["call_leg_id"] if call else None, "call_session_id": call["call_session_id"] if call else None,
            "channels": channels, "created_at": stamp(ended), "updated_at": stamp(ended),
            "recording_started_at": started_at, "recording_ended_at": stamp(ended),
            "duration_millis": max(1000, int((ended - started).total_seconds() * 1000)), "download_urls": {format: url},
        }
        self.recordings[recording_id] = recording
        return recording

    @staticmethod
    def signed_link(url: str) -> str:
        """A download link that expires like Telnyx's (10 minutes); the media route refuses it after."""
        return f"{url.split('?', 1)[0]}?expires={int(datetime.now(UTC).timestamp()) + RECORDING_LINK_SECONDS}"

    def recording_public(self, recording: dict) -> dict:
        """A recording as the recordings API shows it: with freshly signed download links."""
        return {**recording, "download_urls": {k: self.signed_link(v) for k, v in recording["download_urls"].items()}}

    def transcription_save(self, recording_id: str, text: str) -> dict:
        transcription = {"id": self.new_id(), "record_type": "recording_transcription", "recording_id": recording_id,
                         "status": "completed", "transcription_text": text, "created_at": stamp(), "updated_at": stamp(),
                         "duration_millis": self.recordings.get(recording_id, {}).get("duration_millis", 0)}
        self.transcriptions[transcription["id"]] = transcription
        return transcription

    def snapshot(self) -> dict:
        """Counts for the sandbox's own status page and for tests."""
        return {
            "calls_alive": sum(1 for c in self.calls.values() if c["state"] != "hangup"),
            "conferences_active": sum(1 for c in self.conferences.values() if c["status"] != "completed"),
            "queued": sum(len(q["calls"]) for q in self.queues.values()),
            "recordings": len(self.recordings),
        }
