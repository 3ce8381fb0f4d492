using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Topology;

namespace PgRouter.Connections;

/// <summary>A server to use (logged in, when PgRouter holds credentials), or why there is none.</summary>
internal sealed record ServerSelection(ServerConnection? Server, MemberView? Member, long LeaderRevision, LoginResult? Login, PgError? Error)
{
    public static ServerSelection Refused(PgError error) => new(null, null, 0, null, error);
}
