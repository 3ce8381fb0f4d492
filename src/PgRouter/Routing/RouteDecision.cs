using PgRouter.Protocol;
using PgRouter.Topology;

namespace PgRouter.Routing;

internal enum RouteOutcome
{
    /// <summary>Connect to <see cref="RouteDecision.Member"/>.</summary>
    Connect,

    /// <summary>Nothing qualifies yet but soon may (promotion, switchover): wait for the next topology.</summary>
    Wait,

    /// <summary>Nothing qualifies and waiting will not help: tell the client why.</summary>
    Refuse,
}

/// <summary>The result of routing one connection: a member, a reason to wait, or an error for the client.</summary>
internal readonly record struct RouteDecision(RouteOutcome Outcome, MemberView? Member, string Reason, PgError? Error)
{
    public static RouteDecision Connect(MemberView member) => new(RouteOutcome.Connect, member, string.Empty, null);

    public static RouteDecision Wait(string reason) => new(RouteOutcome.Wait, null, reason, null);

    public static RouteDecision Refuse(PgError error) => new(RouteOutcome.Refuse, null, error.Message, error);
}
