using Spectre.Console;

namespace OrleansWs.Bench;

/// <summary>
/// A live status line on stderr while a scenario runs (stdout stays the results). Without a terminal
/// (CI, a pipe) nothing is drawn and the work just runs.
/// </summary>
internal static class LiveProgress
{
    private static readonly IAnsiConsole Console = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(System.Console.Error),
    });

    public static async Task<T> Show<T>(string scenario, Func<string> status, Task<T> work)
    {
        if (!Console.Profile.Capabilities.Interactive || System.Console.IsErrorRedirected)
        {
            return await work;
        }

        await Console.Status().StartAsync(scenario, async context =>
        {
            while (!work.IsCompleted)
            {
                context.Status(Markup.Escape($"{scenario}: {status()}"));
                await Task.WhenAny(work, Task.Delay(250));
            }
        });
        return await work;
    }

    public static Task Show(string scenario, Func<string> status, Task work) =>
        Show(scenario, status, work.ContinueWith(t => { t.GetAwaiter().GetResult(); return true; }, TaskScheduler.Default));
}
