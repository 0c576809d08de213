package main

import (
	"fmt"

	"golang.org/x/text/cases"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

func main() {
	words := []string{"zebra", "Äpfel", "apple"}
	collate.New(language.German).SortStrings(words)
	fmt.Println(cases.Title(language.German).String("hello"), words)
}
