using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>A server to relay a session to, or why there is none.</summary>
internal sealed record ServerSelection(ServerConnection? Server, MemberView? Member, long LeaderRevision, PgError? Error)
{
    public static ServerSelection Refused(PgError error) => new(null, null, 0, error);
}
