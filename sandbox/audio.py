"""Recordings' audio: a short tone rendered as real PCM WAV (no audio flows in the sandbox)."""
import io
import math
import struct
import wave


def tone_wav(seconds: float = 2.0, frequency: float = 440.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a sine tone with a soft fade in and out."""
    frames = int(seconds * rate)
    fade = rate // 20
    samples = bytearray()
    for i in range(frames):
        envelope = min(1.0, i / fade, (frames - i) / fade)
        samples += struct.pack("<h", int(12000 * envelope * math.sin(2 * math.pi * frequency * i / rate)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(samples))
    return buffer.getvalue()
