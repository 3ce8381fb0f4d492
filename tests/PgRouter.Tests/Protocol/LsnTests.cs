using PgRouter.Protocol;
using Xunit;

namespace PgRouter.Tests.Protocol;

public class LsnTests
{
    [Theory]
    [InlineData("0/3000000", 50331648L)]
    [InlineData("0/3000120", 50331936L)]
    [InlineData("1/0", 4294967296L)]
    [InlineData("FFFFFFFF/FFFFFFFF", -1L)]
    public void TryParse_PgLsnText_GivesBytes(string text, long expected)
    {
        Assert.True(Lsn.TryParse(text, out long position));
        Assert.Equal(expected, position);
    }

    [Theory]
    [InlineData("")]
    [InlineData("3000000")]
    [InlineData("/1")]
    [InlineData("0/xyz")]
    public void TryParse_NotAnLsn_Fails(string text) => Assert.False(Lsn.TryParse(text, out _));
}
