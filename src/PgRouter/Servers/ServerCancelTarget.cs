using PgRouter.Protocol;

namespace PgRouter.Servers;

/// <summary>Where a client's query runs now: the server and the key that server gave us.</summary>
internal sealed record ServerCancelTarget(string Cluster, string Member, string Host, int Port, CancelKey Key);
