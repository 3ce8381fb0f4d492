using PgRouter.Protocol;

namespace PgRouter.Connections;

/// <summary>A client session PgRouter can end when it stops.</summary>
internal interface IActiveSession
{
    /// <summary>Ends the session: the client is told why (57P01) where the protocol allows it.</summary>
    void Stop(PgError reason);
}
