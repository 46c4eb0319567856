"""A real DNS server for the tests: UDP on loopback, answering TXT queries from a dict
(dnspython builds and parses the messages). The hub's resolver is pointed at it with
HUB_DNS_NAMESERVERS and HUB_DNS_PORT, so a domain proof goes over the wire as in
production; a name it does not hold is NXDOMAIN, and ``silent`` makes it drop queries
(a server that does not answer)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class LocalZone:
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self.silent = False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._stopped = threading.Event()
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> LocalZone:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                wire, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            if self.silent:
                continue
            answer = dns.message.make_response(query)
            if name not in self.txt:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                quoted = [f'"{value}"' for value in self.txt[name]]
                answer.answer.append(
                    dns.rrset.from_text_list(name + ".", 60, dns.rdataclass.IN, "TXT", quoted)
                )
            self._sock.sendto(answer.to_wire(), peer)
