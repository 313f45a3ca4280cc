"""``demo``: a realistic, deterministic branch in Chinese. Each module registers a filler in
``FILLERS``; they run in order on one ``DemoContext`` (same seed → same data)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from aftersales_desk.data.models import User
from aftersales_desk.data.uow import Database
from aftersales_desk.domain.actor import Actor
from aftersales_desk.domain.roles import Role
from aftersales_desk.services.auth import hash_password
from aftersales_desk.services.bootstrap import initialize, local_actor, open_database
from aftersales_desk.services.progress import NO_PROGRESS, Progress

DEMO_PASSWORD = "demo1234"
DEMO_BRANCH = ("BJ01", "北京朝阳汽车4S店售后服务部", "北京市朝阳区东四环北路88号", "010-6588 1234")
DEMO_USERS = [
    ("zhangli", "张丽", Role.CLERK),
    ("liuyang", "刘洋", Role.CLERK),
    ("wangqiang", "王强", Role.WAREHOUSE),
    ("lijianguo", "李建国", Role.MANAGER),
]


@dataclass
class DemoContext:
    db: Database
    actor: Actor
    rng: random.Random
    customers: int
    progress: Progress
    users: dict[str, Actor] = field(default_factory=dict)


Filler = Callable[[DemoContext], None]
FILLERS: list[Filler] = []


def register(fn: Filler) -> Filler:
    FILLERS.append(fn)
    return fn


@register
def _users(ctx: DemoContext) -> None:
    with ctx.db.uow(ctx.actor, write=True) as uow:
        existing = set(uow.session.scalars(select(User.username)))
        pw = hash_password(DEMO_PASSWORD)
        for username, name, role in DEMO_USERS:
            if username not in existing:
                uow.session.add(
                    User(
                        branch_id=ctx.actor.branch_id,
                        username=username,
                        display_name=name,
                        role=role.value,
                        password_hash=pw,
                    )
                )
        uow.commit()
    for username, _name, _role in DEMO_USERS:
        ctx.users[username] = local_actor(ctx.db, username)


def fill_demo(
    path: Path, *, customers: int = 500, seed: int = 1, progress: Progress = NO_PROGRESS
) -> Database:
    """Create ``path`` when missing (admin password ``DEMO_PASSWORD``) and fill every module."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        code, name, address, phone = DEMO_BRANCH
        db = initialize(
            path,
            branch_code=code,
            branch_name=name,
            device_code="A",
            admin_password=DEMO_PASSWORD,
            address=address,
            phone=phone,
        )
    else:
        db = open_database(path)
    ctx = DemoContext(
        db=db,
        actor=local_actor(db, "admin"),
        rng=random.Random(seed),
        customers=customers,
        progress=progress,
    )
    for i, filler in enumerate(FILLERS):
        progress.step(i, len(FILLERS))
        # Each module draws from its own generator: adding or changing one module's demo data
        # never shifts what another module's filler makes from the same seed.
        ctx.rng = random.Random(f"{seed}:{filler.__module__}.{filler.__qualname__}")
        filler(ctx)
    progress.step(len(FILLERS), len(FILLERS))
    return db
