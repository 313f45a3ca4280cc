"""Writes to a branch database in a loop until killed (used by test_crash.py).

Each transaction adds three users and changes a setting: a database killed at any moment must hold
a multiple of three such users and pass ``check``.
"""

import sys
from pathlib import Path

from aftersales_desk.data.models import Setting, User
from aftersales_desk.services.bootstrap import local_actor, open_database


def main() -> None:
    db = open_database(Path(sys.argv[1]))
    actor = local_actor(db, "admin")
    n = 0
    print("ready", flush=True)
    while True:
        with db.uow(actor, write=True) as uow:
            for _ in range(3):
                n += 1
                uow.session.add(
                    User(
                        branch_id=actor.branch_id,
                        username=f"crash{n}",
                        display_name="x" * 50,
                        role="clerk",
                        password_hash="h" * 90,
                    )
                )
            setting = uow.session.query(Setting).filter_by(key="ui_font_size").one()
            setting.value = 7 + n % 10
            uow.commit()


if __name__ == "__main__":
    main()
