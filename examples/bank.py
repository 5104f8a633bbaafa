"""A bank with a race and a deadlock in it, for ``snarl explore``.

``test_deposits``: two tellers add to the same account without a lock; one deposit can be
lost, but only when a teller is interrupted between reading the balance and writing it back.
``test_transfers``: two transfers in opposite directions lock the two accounts in opposite
orders; they deadlock only if each takes its first lock before the other takes its second.
Neither fails when simply run:

    python -c "import examples.bank as b; b.test_deposits(); b.test_transfers()"   # passes
    snarl explore examples/bank.py::test_deposits
    snarl explore examples/bank.py::test_transfers
"""

import threading


class Account:
    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.lock = threading.Lock()


def deposit(account: Account, amount: int) -> None:
    balance = account.balance
    account.balance = balance + amount


def test_deposits() -> None:
    account = Account(100)
    tellers = [
        threading.Thread(target=deposit, args=(account, 10), name=f"teller-{i}") for i in (1, 2)
    ]
    for t in tellers:
        t.start()
    for t in tellers:
        t.join()
    assert account.balance == 120, f"balance is {account.balance}, not 120"


def transfer(source: Account, target: Account, amount: int) -> None:
    with source.lock:
        move(source, target, amount)


def move(source: Account, target: Account, amount: int) -> None:
    with target.lock:
        source.balance -= amount
        target.balance += amount


def test_transfers() -> None:
    alice, bob = Account(100), Account(100)
    transfers = [
        threading.Thread(target=transfer, args=(alice, bob, 10), name="alice-to-bob"),
        threading.Thread(target=transfer, args=(bob, alice, 20), name="bob-to-alice"),
    ]
    for t in transfers:
        t.start()
    for t in transfers:
        t.join()
    assert alice.balance + bob.balance == 200
