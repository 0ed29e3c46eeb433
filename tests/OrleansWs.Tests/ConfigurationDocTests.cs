using System.Reflection;
using System.Text.RegularExpressions;
using OrleansWs.Gateway;
using OrleansWs.Hosting;

namespace OrleansWs.Tests;

/// <summary>docs/configuration.md lists every option of every options class, and nothing else, so it cannot drift.</summary>
public sealed partial class ConfigurationDocTests
{
    [Theory]
    [InlineData(typeof(WebSocketGatewayOptions))]
    [InlineData(typeof(OrleansWsSiloOptions))]
    public void Docs_configuration_lists_exactly_the_options_of(Type options)
    {
        var documented = OptionRows(Section(options.Name));
        var actual = options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).Order().ToArray();
        Assert.Equal(actual, documented.Order().ToArray());
    }

    private static string Section(string heading)
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "configuration.md")).Replace("\r\n", "\n");
        var start = doc.IndexOf($"\n## {heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/configuration.md has no section '## {heading}'.");
        var end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return end < 0 ? doc[start..] : doc[start..end];
    }

    private static IEnumerable<string> OptionRows(string section) =>
        section.Split('\n').Select(line => OptionRow().Match(line)).Where(m => m.Success).Select(m => m.Groups[1].Value);

    [GeneratedRegex(@"^\| `([A-Za-z]+)` \|")]
    private static partial Regex OptionRow();
}
