"""Signals a host application can connect to, sent once the change is committed.

Each is sent with ``sender`` = the model class and the keyword arguments ``instance``, ``tenant``
and ``request``; ``user_deprovisioned`` adds ``deleted`` (True for a DELETE, False when ``active``
became false). Connect a receiver, for example to end the sessions of a deactivated user::

    from drf_scim.signals import user_deprovisioned

    @receiver(user_deprovisioned)
    def end_sessions(sender, instance, deleted, **kwargs): ...
"""

from django.dispatch import Signal

user_provisioned = Signal()
user_updated = Signal()
user_deprovisioned = Signal()
group_membership_changed = Signal()
