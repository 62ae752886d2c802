"""argparse `type=` checks for `fewshot` options: a wrong number or path is refused while the
command line is parsed (exit status 2, one line naming the option), not after the model has
loaded or, worse, as a traceback or a file that cannot be read back.

Standard library only: `fewshot --help` must stay fast.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

MAX_SEED = 2**32 - 1  # numpy's and torch's seeds are unsigned 32- and 64-bit numbers
MAX_THREADS = 4096
MAX_LIST = 10_000  # more shots or splits than this is a typo ("0-99999"), not a benchmark
DEVICE = re.compile(r"(auto|cpu|mps|cuda(:\d+)?)", re.IGNORECASE)


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An int from `low` (up to `high`)."""
    expected = f"a whole number, {low} or more"
    if high is not None:
        expected = f"a whole number from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


def real_number(low: float, high: float | None = None, *, above: bool = False):
    """A finite float from `low` (excluded with `above`) up to `high`."""
    if above:
        expected = f"a number above {low:g}"
    else:
        expected = f"a number, {low:g} or more"
        if high is not None:
            expected = f"a number from {low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        fits = (value > low if above else value >= low) and (high is None or value <= high)
        if not (math.isfinite(value) and fits):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


def whole_numbers(low: int) -> Callable[[str], list[int]]:
    """ "4,8,16", "0-9" or a mix -> the listed ints, each `low` or more."""
    expected = f"whole numbers from {low}, as in 4,8,16 or 0-9"

    def parse(text: str) -> list[int]:
        numbers: list[int] = []
        for part in text.split(","):
            first, dash, last = part.strip().partition("-")
            try:
                start, end = int(first), int(last if dash else first)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
            if not low <= start <= end or len(numbers) + end - start >= MAX_LIST:
                raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
            numbers += range(start, end + 1)
        return numbers

    return parse


def names_from(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """ "a,b" -> ["a", "b"], each one of `choices`."""

    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",")]
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def device(text: str) -> str:
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda, cuda:N or mps, got {text!r}")
    return text


def existing(kind: str) -> Callable[[str], str]:
    """A path that exists and is a "file", a "folder", or either ("path"): read after the
    model has loaded, so checked now."""
    test = {"file": Path.is_file, "folder": Path.is_dir, "path": Path.exists}[kind]
    noun = {"path": "file or folder"}.get(kind, kind)

    def parse(text: str) -> str:
        if not checked(text, test):
            found = checked(text, Path.exists)
            raise argparse.ArgumentTypeError(
                f"`{text}` is not a {noun}" if found else f"there is no {noun} `{text}`"
            )
        return text

    return parse


def to_write(kind: str) -> Callable[[str], str]:
    """An output "file" or "folder": not an existing one of the other kind, and not under a
    file (folders on the way are made); else the run would fail only at its end."""

    def parse(text: str) -> str:
        path = Path(text)
        other = Path.is_dir if kind == "file" else Path.is_file
        if checked(text, other):
            raise argparse.ArgumentTypeError(f"`{text}` is not a {kind}; give a {kind} name")
        above = next((p for p in path.absolute().parents if checked(p, Path.exists)), None)
        if above is not None and not above.is_dir():
            raise argparse.ArgumentTypeError(f"`{above}` is a file, not a folder")
        return text

    return parse


def checked(path, test) -> bool:
    try:
        return test(Path(path))
    except (OSError, ValueError) as error:  # a name too long, a NUL byte
        raise argparse.ArgumentTypeError(f"cannot use `{path}` ({error})") from None
