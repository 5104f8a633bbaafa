"""Two tellers deposit into one account; the twin holds the account's Lock."""

import os
import sys
import threading


class Account:
    def __init__(self):
        self.balance = 0
        self.lock = threading.Lock()

    def deposit(self, amount, synced):
        if synced:
            with self.lock:
                self.balance += amount
        else:
            self.balance += amount


def main(synced):
    acct = Account()
    tellers = [threading.Thread(target=acct.deposit, args=(10, synced)) for _ in range(2)]
    for t in tellers:
        t.start()
    for t in tellers:
        t.join()
    print(acct.balance)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
