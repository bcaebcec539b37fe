"""Accounts API: sign-in, the current user and teams, team members, personal API tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors, services
from apps.accounts.models import Role
from apps.accounts.request_team import request_user
from apps.core.errors import ApplicationError, NotFound
from apps.core.schema import error_response


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class TeamMembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="team.id")
    slug = serializers.CharField(source="team.slug")
    name = serializers.CharField(source="team.name")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    teams = TeamMembershipSerializer(many=True)
    current_team = serializers.CharField(allow_null=True)


def me_payload(request: Request) -> dict:
    memberships = list(selectors.membership_list_for_user(user=request_user(request)))
    wanted = request.headers.get("X-Team") or request.query_params.get("team")
    current = next((m.team.slug for m in memberships if m.team.slug == wanted), None)
    if current is None and memberships:
        current = memberships[0].team.slug
    return MeSerializer({"user": request.user, "teams": memberships, "current_team": current}).data


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeApi(APIView):
    @extend_schema(responses=MeSerializer, operation_id="auth_me")
    def get(self, request: Request) -> Response:
        return Response(me_payload(request))


class LoginApi(APIView):
    permission_classes = [AllowAny]

    class LoginInputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(style={"input_type": "password"})

    @extend_schema(request=LoginInputSerializer, responses=MeSerializer, operation_id="auth_login")
    def post(self, request: Request) -> Response:
        data = self.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None:
            raise ApplicationError("Wrong username or password.", status=400)
        login(request, user)
        return Response(me_payload(request))


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None}, operation_id="auth_logout")
    def post(self, request: Request) -> Response:
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    key = serializers.CharField(help_text="Shown once; store it now.")


class ApiTokenListCreateApi(APIView):
    class ApiTokenInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(responses=ApiTokenSerializer(many=True), operation_id="auth_tokens_list")
    def get(self, request: Request) -> Response:
        return Response(ApiTokenSerializer(selectors.api_token_list(user=request_user(request)), many=True).data)

    @extend_schema(
        request=ApiTokenInputSerializer, responses={201: ApiTokenCreatedSerializer}, operation_id="auth_tokens_create"
    )
    def post(self, request: Request) -> Response:
        data = self.ApiTokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.api_token_create(user=request_user(request), name=data.validated_data["name"])
        payload = dict(ApiTokenSerializer(token).data, key=key)
        return Response(payload, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    @extend_schema(responses={204: None}, operation_id="auth_tokens_revoke")
    def delete(self, request: Request, token_id: int) -> Response:
        services.api_token_revoke(user=request_user(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamCreateApi(APIView):
    class TeamInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=128)

    @extend_schema(
        request=TeamInputSerializer,
        responses={201: TeamMembershipSerializer, 409: error_response("A team with this name already exists.")},
        operation_id="teams_create",
    )
    def post(self, request: Request) -> Response:
        data = self.TeamInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = services.team_create(name=data.validated_data["name"], owner=request_user(request))
        membership = selectors.team_resolve(user=request_user(request), slug=team.slug)
        return Response(TeamMembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField()
    joined_at = serializers.DateTimeField(source="created_at")


class TeamMembersApi(APIView):
    class MemberInputSerializer(serializers.Serializer):
        username = serializers.CharField()
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    @extend_schema(responses=MemberSerializer(many=True), operation_id="teams_members_list")
    def get(self, request: Request, slug: str) -> Response:
        membership = selectors.team_resolve(user=request_user(request), slug=slug)
        return Response(MemberSerializer(selectors.team_member_list(team=membership.team), many=True).data)

    @extend_schema(request=MemberInputSerializer, responses={201: MemberSerializer}, operation_id="teams_members_set")
    def post(self, request: Request, slug: str) -> Response:
        membership = selectors.team_resolve(user=request_user(request), slug=slug, min_role=Role.OWNER)
        data = self.MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise NotFound(f"No user called '{data.validated_data['username']}'.")
        member = services.membership_set(team=membership.team, user=user, role=data.validated_data["role"])
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)
