"""factory_boy factories. Deterministic sequences, no hidden side effects."""

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from enrollment.models import Group
from helpdesk.models import AdministrativeUnit, Staff
from helpdesk.roles import Role

STAFF_PASSWORD = "correct horse battery staple"
# A fixed TOTP key (hex, 20 bytes) so tests can compute the code a staff member would type.
STAFF_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Group {n}")


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Sequence(lambda n: f"Staff{n}")
    last_name = "Member"
    email = factory.LazyAttribute(lambda o: f"{o.username}@helpdesk.example.com")
    role = Role.HELPDESK
    password = factory.PostGenerationMethodCall("set_password", STAFF_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(StaffFactory)
    name = "Authenticator app"
    key = STAFF_TOTP_KEY_HEX
    confirmed = True


class AdministrativeUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdministrativeUnit
        django_get_or_create = ["name"]
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Unit {n}")

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.set(extracted)

    @factory.post_generation
    def staff(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.staff.set(extracted)
