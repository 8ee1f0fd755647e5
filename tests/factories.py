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


# --- Directory (enrollment/) ---------------------------------------------------------------------


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.Application"
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"App {n}")


class EndUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.EndUser"
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"End User {n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    mobile = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    phone = ""
    status = "active"

    @factory.post_generation
    def groups(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.set(extracted)


class PolicyFactory(factory.django.DjangoModelFactory):
    """A global policy unless told otherwise; pass application= or group= with the scope."""

    class Meta:
        model = "enrollment.Policy"
        skip_postgeneration_save = True

    scope = "global"

    @factory.post_generation
    def exempt_groups(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            obj.exempt_groups.set(extracted)

    @factory.post_generation
    def permitted_groups(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            obj.permitted_groups.set(extracted)


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.Device"

    end_user = factory.SubFactory(EndUserFactory)
    name = factory.Sequence(lambda n: f"Phone {n}")
    platform = "ios"
    os_version = "17.4"
    app_version = "4.80"
    push_capable = True


class AuthenticatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.Authenticator"

    end_user = factory.SubFactory(EndUserFactory)
    device = factory.SubFactory(DeviceFactory, end_user=factory.SelfAttribute("..end_user"))
    method = "push"
    status = "active"
    name = factory.Sequence(lambda n: f"Authenticator {n}")


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.Enrollment"

    end_user = factory.SubFactory(EndUserFactory)
    stage = "invited"


class EnrollmentLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.EnrollmentLink"

    end_user = factory.SubFactory(EndUserFactory)


class ActivationLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "enrollment.ActivationLink"

    authenticator = factory.SubFactory(AuthenticatorFactory, status="pending_activation")
