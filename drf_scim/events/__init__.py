"""SCIM events: every committed change published as an RFC 9967 Security Event Token (SET).

The flow, from a write to a receiver:

1. ``drf_scim.audit.AuditTrail`` records the change and its ``SCIMEvent`` (``outbox.event_for``) in the
   same transaction, in one statement on PostgreSQL (``drf_scim.plans.inserts``): a rolled-back request
   leaves neither.
2. ``outbox.fan_out`` (run by every worker and every poll) gives each event one ``SCIMEventDelivery`` per
   receiver of its tenant that asked for it, exactly once (a unique constraint, and SKIP LOCKED on
   PostgreSQL).
3. ``outbox.claim`` leases due deliveries, oldest first and one at a time per resource, so that a
   receiver hears of a resource's changes in order.
4. ``tokens`` builds the receiver's SET (``iss``, ``iat``, ``jti``, ``aud``, ``txn``, ``sub_id`` and the
   events) and signs it as a JWS; ``push`` POSTs it (RFC 8935) or ``views.PollView`` hands it out (RFC 8936).

In-process listeners keep using ``drf_scim.signals``.
"""
