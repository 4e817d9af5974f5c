"""The seccomp program the engine installs is the one the threat table assembles.

The engine installs the program precomputed in ``_seccomp_filter`` (compiling the table module and
assembling the program at every start cost the guarded cold start milliseconds); it must stay
byte for byte what ``_seccomp.build_filter`` makes of the reviewed table, for any process id.
Pure byte comparisons: nothing is applied here.
"""

from __future__ import annotations

import os
import struct

import pytest

from tentacular.engine import _seccomp, _seccomp_filter


@pytest.mark.parametrize("pid", [0, 1, 7, os.getpid(), 4_194_304, 2**31 - 1, 2**32 - 1])
def test_the_precomputed_program_is_the_assembled_table(pid: int) -> None:
    assert _seccomp_filter.program_for(pid) == _seccomp.build_filter(pid), (
        "the table changed: regenerate _seccomp_filter.PROGRAM from _seccomp.build_filter(0).hex()"
    )


def test_the_process_id_is_the_only_difference_between_engines() -> None:
    one, other = _seccomp.build_filter(1), _seccomp.build_filter(2)
    differing = [i for i in range(len(one)) if one[i] != other[i]]
    assert differing == [_seccomp_filter.PID_OFFSET]  # little-endian k field: 1 -> 2 changes one byte
    code, _jt, _jf, k = struct.unpack_from("HBBI", one, _seccomp_filter.PID_OFFSET - 4)
    assert (code, k) == (_seccomp._JEQ_K, 1)


def test_every_refused_call_of_the_table_is_in_the_program() -> None:
    program = _seccomp_filter.program_for(os.getpid())
    compared = {k for code, _jt, _jf, k in struct.iter_unpack("HBBI", program) if code == _seccomp._JEQ_K}
    assert {number for _name, number, _why in _seccomp.THREATS} <= compared
    assert len(program) // 8 == len(_seccomp.THREATS) + 23  # header 4, argument checks 15, returns 4
    assert len(_seccomp.THREATS) + 1 == _seccomp_filter.REFUSED  # clone3 (ENOSYS) counts too
