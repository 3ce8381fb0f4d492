namespace PgRouter.Protocol;

/// <summary>The status byte of ReadyForQuery; the values are the wire letters.</summary>
internal enum TransactionStatus : byte
{
    Idle = (byte)'I',
    InTransaction = (byte)'T',
    Failed = (byte)'E',
}
