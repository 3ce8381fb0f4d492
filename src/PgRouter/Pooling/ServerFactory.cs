using PgRouter.Configuration;
using PgRouter.Protocol;
using PgRouter.Servers;
using PgRouter.Tls;
using PgRouter.Topology;

namespace PgRouter.Pooling;

/// <summary>Opens and logs in a new server connection for a pool, and checks it is what the pool needs.</summary>
internal sealed class ServerFactory(ConnectionOptions options, ServerTlsConnector tls, TimeProvider time)
{
    public async Task<Acquisition> CreateAsync(ServerPool pool, MemberView member, ServerCredentials credentials, bool expectPrimary)
    {
        var (connection, error) = await ServerConnection.ConnectAsync(
            pool.Key.Cluster, member.Name, member.Host, member.Port, pool.Settings.ConnectTimeout, options.ServerKeepalive, tls).ConfigureAwait(false);
        if (connection is null)
        {
            // A server that is down: route elsewhere or wait; one that refuses PgRouter (TLS): tell the client.
            return Acquisition.Failed(error!.ServerDown ? AcquireFailure.Unreachable : AcquireFailure.Refused,
                new PgError(SqlState.SqlServerRejectedEstablishment, error.Message));
        }

        var parameters = pool.LoginParameters.Clone();
        parameters.Set("user", credentials.User);
        using var deadline = new CancellationTokenSource(pool.Settings.ConnectTimeout);
        var login = await ServerLogin.LoginAsync(connection, parameters, credentials, deadline.Token).ConfigureAwait(false);
        if (login.Error is { } refused)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            // Starting up, shutting down, recovering from a crash: another member may serve.
            return ConnectError.MeansServerDown(refused.SqlState)
                ? Acquisition.Failed(AcquireFailure.Unreachable, refused)
                : Acquisition.Failed(AcquireFailure.Refused, refused with
                {
                    Detail = $"PgRouter could not log in to member {member.Name} of cluster {pool.Key.Cluster} as {credentials.User}. {refused.Detail}".TrimEnd(),
                });
        }
        if (expectPrimary && login.Parameter("in_hot_standby") == "on")
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return Acquisition.Failed(AcquireFailure.WrongRole);
        }

        var server = new PooledServer(connection, pool, login, time.GetTimestamp());
        pool.Parameters = server.Parameters;
        server.Start();
        return Acquisition.Got(server);
    }
}
