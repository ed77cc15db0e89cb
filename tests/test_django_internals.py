"""Each use drf_scim makes of Django's private API (drf_scim.django_internals) still does what it relies on.

A Django upgrade that changes one of them fails here, by name."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from drf_scim import django_internals
from drf_scim.plans.prepared import PreparedLookup

pytestmark = pytest.mark.django_db


def users():
    return get_user_model().objects.select_related("scim")


def test_a_deferred_filter_selects_the_rows_an_eager_one_does():
    get_user_model().objects.create(username="ann")
    get_user_model().objects.create(username="bob")
    deferred = django_internals.defer_filter(get_user_model().objects.all(), Q(username="bob"))
    assert [user.username for user in deferred] == ["bob"]
    assert str(deferred.query) == str(get_user_model().objects.filter(username="bob").query)


def test_deferring_leaves_the_fields_select_related_follows_to_it():
    deferred = ("scim__manager__data", "scim__manager__user")
    followed = django_internals.defer_unjoined(users().select_related("scim__manager__user"), deferred)
    list(followed)  # Django refuses a field both deferred and followed
    assert followed.query.deferred_loading == ({"scim__manager__data"}, True)
    assert django_internals.defer_unjoined(users(), deferred).query.deferred_loading == (set(deferred), True)
    everything = get_user_model().objects.select_related()
    assert django_internals.defer_unjoined(everything, deferred).query.deferred_loading == (frozenset(), True)


def test_the_queryset_helpers_read_what_they_name():
    queryset = get_user_model().objects.all()
    assert not django_internals.is_evaluated(queryset)
    list(queryset)
    assert django_internals.is_evaluated(queryset)
    assert set(django_internals.annotation_names(queryset.annotate(n=Q(pk=1)))) == {"n"}
    assert not django_internals.has_filters(get_user_model().objects.all())
    assert django_internals.has_filters(get_user_model().objects.filter(pk=1))
    assert django_internals.values_column(get_user_model().objects.values_list("username", flat=True)) == "username"


def test_forgetting_prefetched_rows_makes_the_next_read_fetch_them():
    user = get_user_model().objects.create(username="ann")
    user = get_user_model().objects.prefetch_related("groups").get(pk=user.pk)
    group = user.groups.model.objects.create(name="staff")
    user.groups.through.objects.create(user=user, group=group)
    assert list(user.groups.all()) == []  # the prefetched (empty) rows
    django_internals.forget_prefetched(user)
    assert list(user.groups.all()) == [group]


def test_precompiled_sql_runs_with_new_parameters_and_derived_queries_compile_their_own():
    ann = get_user_model().objects.create(username="ann")
    get_user_model().objects.create(username="bob")
    queryset = django_internals.precompilable(users().filter(username="marker"))
    compiled = django_internals.compile_query(queryset, connection.alias)
    position = compiled.params.index("marker")
    params = list(compiled.params)
    params[position] = "ann"
    assert [user.pk for user in django_internals.run_precompiled(queryset, compiled, params)] == [ann.pk]
    assert queryset.count() == 0  # a COUNT of the same queryset compiles its own SQL, with the marker


def test_a_prepared_lookup_finds_each_row_by_its_key():
    ann = get_user_model().objects.create(username="ann")
    bob = get_user_model().objects.create(username="bob")
    lookup = PreparedLookup(users(), "pk")
    assert (lookup.get(ann.pk), lookup.get(bob.pk)) == (ann, bob)
    with pytest.raises(get_user_model().DoesNotExist):
        lookup.get(10**9)


@pytest.mark.django_db
def test_a_planned_queryset_with_references_still_reads_right_inside_another_query():
    """The references subquery keeps its compiled SQL for the queryset that owns it; nested in another query
    (Django relabels it) it compiles afresh, correlated with the new aliases."""
    from django.contrib.auth.models import Group, User
    from django.db.models import F, OuterRef, Subquery
    from django.db.models.functions import JSONObject

    from drf_scim.expressions import JSONArraySubquery

    user = User.objects.create(username="alice")
    user.groups.add(*(Group.objects.create(name=name) for name in ("a", "b")))
    rows = (
        User.groups.through.objects.filter(user_id=OuterRef("pk"))
        .order_by("group_id")
        .values(j=JSONObject(group=F("group_id")), o=F("group_id"))
    )
    users = User.objects.annotate(refs=JSONArraySubquery(rows))
    assert list(users.values_list("refs", flat=True)) == [[{"group": g.pk} for g in user.groups.order_by("pk")]]
    nested = User.groups.through.objects.annotate(
        refs=Subquery(users.filter(pk=OuterRef("user_id")).values("refs")[:1])
    )
    expected = [{"group": g.pk} for g in user.groups.order_by("pk")]
    assert [refs for refs in nested.values_list("refs", flat=True)] == [expected, expected]


@pytest.mark.django_db
def test_forget_related_makes_the_next_access_read_the_database():
    from django.contrib.auth.models import User

    from drf_scim.models import SCIMUser

    user = User.objects.create(username="alice")  # adopted: it has a SCIM row
    assert user.scim is not None  # now cached on the instance
    SCIMUser.objects.filter(user=user).delete()
    django_internals.forget_related(user, "scim")
    with pytest.raises(SCIMUser.DoesNotExist):
        user.scim  # noqa: B018 - the access is the test
