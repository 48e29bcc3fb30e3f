"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import io

import factory
from django.core.files.base import ContentFile
from PIL import Image

from boards.models import Board, CastMember, Panel, Take
from characters.models import Character, Location, ReferenceImage, ReferenceSheet
from studio.models import Membership, Project, User


def png_bytes(color=(200, 60, 60), size=(64, 48)) -> bytes:
    """A small valid PNG of one colour."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-word-123")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.EDITOR


class CharacterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Character

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Character {n}")
    appearance = "tall, red coat"


class ReferenceSheetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferenceSheet

    character = factory.SubFactory(CharacterFactory)
    name = factory.Sequence(lambda n: f"Sheet {n}")
    is_default = True


class ReferenceImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferenceImage

    sheet = factory.SubFactory(ReferenceSheetFactory)
    view = ReferenceImage.View.FRONT
    file = factory.LazyAttribute(
        lambda o: ContentFile(
            png_bytes(), name=f"projects/{o.sheet.character.project_id}/references/x.png"
        )
    )
    thumbnail = factory.LazyAttribute(
        lambda o: ContentFile(
            png_bytes(), name=f"projects/{o.sheet.character.project_id}/references/t.png"
        )
    )
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    width = 64
    height = 48


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Location {n}")


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Board

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Board {n}")


class PanelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Panel

    board = factory.SubFactory(BoardFactory)
    # Next free slot on its board, as the app numbers panels.
    position = factory.LazyAttribute(lambda o: o.board.panels.count())
    action = "She walks in."


class CastMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CastMember

    panel = factory.SubFactory(PanelFactory)
    character = factory.SubFactory(CharacterFactory)


class TakeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Take

    panel = factory.SubFactory(PanelFactory)
    kind = Take.Kind.UPLOADED
    file = factory.LazyAttribute(
        lambda o: ContentFile(png_bytes(), name=f"projects/{o.panel.board.project_id}/takes/x.png")
    )
    thumbnail = factory.LazyAttribute(
        lambda o: ContentFile(png_bytes(), name=f"projects/{o.panel.board.project_id}/takes/t.png")
    )
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    width = 64
    height = 48
