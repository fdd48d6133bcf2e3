"""Simulated traffic: callers queue, conferences fill and empty, calls are recorded; a seeded run repeats it."""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.wire import Emit, NotFound, Unprocessable
from sandbox.world import World

log = logging.getLogger("sandbox.traffic")
QUEUES = ["support", "sales", "billing"]
ROOMS = ["Team huddle", "Escalation bridge", "Training", "Incident review", "Sales sync"]
LINES = [
    "Thanks for calling, how can I help?", "I'd like to check my order.", "Let me look that up for you.",
    "Is there anything else?", "No, that's all, thank you.",
]


@dataclass
class Step:
    at: float  # seconds after the scenario starts
    action: Callable[[World], list[Emit]]


class Traffic:
    """Plans scenarios with its own seeded generator and plays them against the world."""

    def __init__(self, world: World, dispatcher=None, *, rate_per_minute: float = 6.0, seed: int | None = None):
        self.world, self.dispatcher, self.rate = world, dispatcher, rate_per_minute
        self.rng = random.Random((world.seed if seed is None else seed) * 7919 + 1)
        self.counter = 0

    def number(self) -> str:
        return "+1555" + "".join(str(self.rng.randint(0, 9)) for _ in range(7))

    def next_scenario(self) -> list[Step]:
        self.counter += 1
        roll = self.rng.random()
        if roll < 0.5:
            return self.queue_caller()
        if roll < 0.8:
            return self.conference()
        return self.recorded_call()

    # --- scenarios -----------------------------------------------------------
    def queue_caller(self) -> list[Step]:
        state = {}
        queue = self.rng.choice(QUEUES)
        caller, wait, talk = self.number(), self.rng.uniform(5, 40), self.rng.uniform(10, 60)
        outcome = self.rng.choices(["bridged", "abandoned", "timeout"], weights=[55, 30, 15])[0]

        def arrive(world):
            call, emits = world.call_start(from_number=caller, to_number="+15550000100")
            state["id"] = call["call_control_id"]
            return emits + world.enqueue(call["call_control_id"], {"queue_name": queue})

        def leave(world):
            if outcome == "bridged":
                return world.call_bridge(state["id"])
            if outcome == "timeout":
                return world.dequeue(world.call(state["id"]), reason="timeout") + world.call_hangup(state["id"], "timeout")
            return world.call_hangup(state["id"], "originator_cancel")

        steps = [Step(0, arrive), Step(wait, leave)]
        if outcome == "bridged":
            steps.append(Step(wait + talk, lambda world: world.call_hangup(state["id"])))
        return steps

    def conference(self) -> list[Step]:
        state = {"members": []}
        name = f"{self.rng.choice(ROOMS)} {self.counter}"
        guests = [self.number() for _ in range(self.rng.randint(2, 4))]
        length = self.rng.uniform(25, 60)

        def open_room(world):
            host, emits = world.call_start(from_number=self.number(), to_number="+15550000200")
            conference, created = world.conference_create({"call_control_id": host["call_control_id"], "name": name})
            state["conference"] = conference["id"]
            state["members"].append(host["call_control_id"])
            return emits + created

        def join(number):
            def step(world):
                call, emits = world.call_start(from_number=number, to_number="+15550000200")
                state["members"].append(call["call_control_id"])
                return emits + world.participant_join(state["conference"], {"call_control_id": call["call_control_id"]})
            return step

        def floor(pick):
            def step(world):
                present = [m for m in state["members"] if world.calls[m]["conference"] == state["conference"]]
                if not present:
                    return []
                speaker = world.calls[present[pick % len(present)]]
                return [Emit("conference.floor.changed", {**world.call_payload(speaker), "conference_id": state["conference"],
                                                          "occurred_at": None})]
            return step

        steps = [Step(0, open_room)]
        steps += [Step(2 + 2 * i, join(number)) for i, number in enumerate(guests)]
        steps.append(Step(3, lambda world: world.conference_record_start(state["conference"], {"format": "mp3", "channels": "single"})))
        steps.append(Step(6, lambda world: world.conference_media(state["conference"], "playback", {"media_name": "welcome"})))
        steps += [Step(8 + 3 * i, floor(self.rng.randint(0, 10))) for i in range(int((length - 10) / 3))]
        steps.append(Step(length - 4, lambda world: world.conference_record_stop(state["conference"])))
        steps += [Step(length + 2 * i, lambda world, i=i: world.call_hangup(state["members"][i])) for i in range(len(guests) + 1)]
        return steps

    def recorded_call(self) -> list[Step]:
        state = {}
        caller, length = self.number(), self.rng.uniform(15, 45)
        words = " ".join(self.rng.sample(LINES, 3))

        def start(world):
            call, emits = world.call_start(from_number=caller, to_number="+15550000300")
            state["id"] = call["call_control_id"]
            call["recording"] = {"started_at": call["start_time"], "format": "mp3", "channels": "dual"}
            return emits

        def stop(world):
            call = world.call(state["id"])
            recording = world.recording_save(source="call", call=call, **call.pop("recording"))
            call["recording"] = None
            state["recording"] = recording["id"]
            return [Emit("call.recording.saved", world.call_payload(
                call, channels="dual", recording_started_at=recording["recording_started_at"],
                recording_ended_at=recording["recording_ended_at"], recording_urls=recording["download_urls"],
                public_recording_urls=recording["download_urls"]))]

        def transcribed(world):
            call = world.calls[state["id"]]
            transcription = world.transcription_save(state["recording"], words)
            return [Emit("call.recording.transcription.saved", world.call_payload(
                call, calling_party_type="pstn", recording_id=state["recording"], status="completed",
                recording_transcription_id=transcription["id"], transcription_text=words))]

        return [Step(0, start), Step(length, stop), Step(length + 0.5, lambda world: world.call_hangup(state["id"])),
                Step(length + 3, transcribed)]

    # --- playing ---------------------------------------------------------------
    def _apply(self, step: Step) -> list[Emit]:
        with self.world.lock:
            try:
                return step.action(self.world)
            except (NotFound, Unprocessable, KeyError) as exc:
                log.debug("traffic step skipped: %s", exc)
                return []

    def fast_forward(self, scenarios: int) -> list[Emit]:
        """Play `scenarios` scenarios at once in time order (tests and benchmarks); returns every emit."""
        timeline, start = [], 0.0
        for index in range(scenarios):
            timeline += [(start + step.at, index, order, step) for order, step in enumerate(self.next_scenario())]
            start += self.rng.expovariate(max(self.rate, 1) / 60)
        emits = []
        for _, _, _, step in sorted(timeline, key=lambda item: item[:3]):
            emits += self._apply(step)
        return emits

    async def run(self) -> None:
        """Start scenarios at `rate_per_minute` until cancelled, once the portal answers its webhooks."""
        ready = getattr(self.dispatcher, "ready", None)
        if ready is not None:
            await ready.wait()
        while True:
            for step in self.next_scenario():
                asyncio.get_running_loop().call_later(step.at * self.dispatcher.pace, self._play, step)
            await asyncio.sleep(self.rng.expovariate(self.rate / 60) * self.dispatcher.pace)

    def _play(self, step: Step) -> None:
        self.dispatcher.schedule(self._apply(step))
